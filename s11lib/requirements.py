"""Which lines of requirements.txt the running Python does not satisfy: what the notebook's
first cell installs (on Colab: albumentations 2.x, torch-lr-finder, grad-cam; torch stays).

Standard library and ``packaging`` only, so it works before anything is installed.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

KERNEL = frozenset({"jupyter", "nbclient", "ipykernel"})  # a notebook asking is already running in one


def unmet(requirements: Path, skip: frozenset[str] = KERNEL) -> list[str]:
    """The requirements in ``requirements`` that no installed version satisfies (missing ones included)."""
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    wanted = [Requirement(line.split("#")[0]) for line in Path(requirements).read_text().splitlines()
              if line.split("#")[0].strip()]
    return [str(r) for r in wanted if canonicalize_name(r.name) not in skip
            and not r.specifier.contains(installed.get(canonicalize_name(r.name), "0.dev0"), prereleases=True)]


def check_torchvision() -> None:
    """Import torchvision now: one that does not match torch (pip lets such a pair through) is then one
    line before any work, not a traceback from GradCAM once training has ended.

    Raises:
        InputError: torchvision does not import beside this torch; the message says which pair and what to do.
    """
    try:
        import torchvision  # noqa: F401
    except Exception as e:  # a mismatched pair: RuntimeError("operator torchvision::nms does not exist")
        from .config import InputError

        def version(name: str) -> str:
            try:
                return importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                return "(not installed)"

        reason = (str(e).strip().splitlines() or [type(e).__name__])[-1]
        raise InputError(f"torchvision {version('torchvision')} does not work with torch {version('torch')} ({reason}); "
                         f"install the torchvision release built for torch {version('torch')}") from None
