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
