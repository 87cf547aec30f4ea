"""Check, here and before any device time is spent, that the GPU machine will meet every lower
bound that the notebook and the GPU plan need, from what its image holds and what we carry.

    python bench/check_gpu_image.py .carry/whl     # exit 1 and one line per unmet requirement

The image's versions are those the device tool's KINDS.md reports for ``nvidia-h200``
(a session's pip list, 2026-11): Python 3.12, torch 2.11, torchvision 0.26, numpy 2.5. The
machine has no internet, so whatever the image lacks must come as a wheel in the carried
folder, built for CPython 3.12 on x86-64 Linux (``../shared/tools/offline-wheels.sh``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename

ROOT = Path(__file__).resolve().parents[1]
IMAGE_PYTHON = "3.12.3"
IMAGE = {"torch": "2.11.0", "torchvision": "0.26.0", "numpy": "2.5.2"}  # versions reported for the image
IMAGE_UNVERSIONED = {"matplotlib", "pillow", "tqdm", "opencv-python-headless", "packaging", "pytest", "hypothesis"}
PLAN_NEEDS = ("airbench",)  # the peer, from requirements-dev.txt


def requirements() -> list[Requirement]:
    """requirements.txt but jupyter (nbclient runs the notebook there), and the peer from requirements-dev.txt."""

    def read(name: str) -> list[Requirement]:
        lines = (ROOT / name).read_text().splitlines()
        return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip() and line[0] != "-"]

    product = [r for r in read("requirements.txt") if canonicalize_name(r.name) != "jupyter"]
    known = {canonicalize_name(r.name) for r in product}
    return product + [r for r in read("requirements-dev.txt") if canonicalize_name(r.name) in PLAN_NEEDS
                      and canonicalize_name(r.name) not in known]


def carried(wheels: Path) -> dict[str, str]:
    """name -> version of every wheel in ``wheels`` that installs on CPython 3.12, x86-64 Linux."""
    found = {}
    for path in sorted(wheels.glob("*.whl")):
        name, version, _, tags = parse_wheel_filename(path.name)
        if any(t.interpreter in ("py3", "cp312") and (t.platform == "any" or "x86_64" in t.platform) for t in tags):
            found[canonicalize_name(name)] = str(version)
    return found


def check(wheels: Path) -> list[str]:
    """One line per requirement: how the GPU machine meets it, or UNMET and why."""
    have = carried(wheels)
    lines = [f"python {IMAGE_PYTHON}: the image's"]
    for req in requirements():
        name = canonicalize_name(req.name)
        if name in have:
            ok = req.specifier.contains(have[name], prereleases=True)
            lines.append(f"{req}: {'carried' if ok else 'UNMET, carried'} {have[name]}")
        elif name in IMAGE:
            ok = req.specifier.contains(IMAGE[name], prereleases=True)
            lines.append(f"{req}: {'the image has' if ok else 'UNMET, the image has'} {IMAGE[name]}")
        elif name in IMAGE_UNVERSIONED:
            lines.append(f"{req}: the image has it (version not recorded; the notebook checks it there)")
        else:
            lines.append(f"{req}: UNMET, neither in the image nor carried in {wheels}")
    return lines


def main() -> None:
    lines = check(Path(sys.argv[1] if len(sys.argv) > 1 else ".carry/whl"))
    print("\n".join(lines))
    sys.exit(1 if any("UNMET" in line for line in lines) else 0)


if __name__ == "__main__":
    main()
