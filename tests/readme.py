"""README's and docs/'s commands, read off the pages, and how the tests run them: on the real offline
copy (its path made absolute), outputs under a temporary folder."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
DATA_IN_README = "../shared/data/cifar10-jpeg.tar.gz"
NOT_RUN = "# not run by the tests"


def page_commands(page: Path) -> list[tuple[str, str | None]]:
    """Each command line in a page's bash and python blocks, with the reason it is not run here (None: it is).
    In bash a reason covers the next line; in python, the rest of its block."""
    commands = []
    for kind, block in re.findall(r"```(bash|python)\n(.*?)```", page.read_text(), flags=re.S):
        reason = None
        for line in filter(str.strip, block.splitlines()):
            if line.startswith("#"):
                reason = line.removeprefix(NOT_RUN).lstrip(" :").strip() if line.startswith(NOT_RUN) else reason
                continue
            commands.append((line, reason))
            if kind == "bash":
                reason = None
    return commands


def readme_commands() -> list[tuple[str, str | None]]:
    return [c for page in PAGES for c in page_commands(page)]


def command(prefix: str) -> str:
    """The one command of README or docs/ that starts with ``prefix``."""
    found = [c for c, _ in readme_commands() if c.startswith(prefix)]
    assert len(set(found)) == 1, (prefix, found)
    return found[0]


SMOKE = command("python -m s11lib train --data ../shared/data/cifar10-jpeg.tar.gz --subset 500 --epochs")
BLOWN = command("python -m s11lib train --data ../shared/data/cifar10-jpeg.tar.gz --subset 200")
FIND_LR = command("python -m s11lib find-lr --data ../shared")
GRADCAM = command("python -m s11lib gradcam --checkpoint runs/smoke")
NOTEBOOK = command("S11_SMOKE=1 ")
SWEEP = command("python -m s11lib sweep --data ../shared/data/cifar10-jpeg.tar.gz --subset 200")
SUMMARY = command("python -m s11lib summary runs/")
PREDICT = command("python -m s11lib predict --checkpoint runs/smoke")
TESTS = command("pip install -q -r requirements-dev.txt")  # run by CI (.ci/run, test_newcomer checks it is the same line)
RUN_HERE = (SMOKE, BLOWN, FIND_LR, GRADCAM, NOTEBOOK, SWEEP, SUMMARY, TESTS)


def argv(line: str, data: Path, tmp: Path) -> list[str]:
    """A README command's arguments as this test runs them: the real data's absolute path, outputs under ``tmp``."""
    words = shlex.split(line)
    assert words[:3] == ["python", "-m", "s11lib"], line
    return [str(data) if w == DATA_IN_README else str(tmp / w) if w.startswith("runs/") else w for w in words[3:]]


def kernel_here(folder: Path) -> Path:
    """A jupyter folder whose "python3" kernel is this interpreter, for JUPYTER_PATH: the one jupyter finds
    first may be another environment's (in a virtualenv, its base Python's), with another torch and other LRs."""
    kernel = folder / "kernels" / "python3"
    kernel.mkdir(parents=True, exist_ok=True)
    (kernel / "kernel.json").write_text(json.dumps({"argv": [sys.executable, "-m", "ipykernel_launcher", "-f",
                                                              "{connection_file}"], "display_name": "Python 3",
                                                     "language": "python"}))
    return folder


def run_notebook_command(data: Path, cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    """README's nbconvert line, in ``cwd`` on a copy of the notebook (s11lib found on PYTHONPATH), its
    environment variables as written but the data's path; jupyter is this Python's."""
    import shutil

    words = shlex.split(NOTEBOOK)
    env = dict(w.split("=", 1) for w in words if re.match(r"^[A-Z0-9_]+=", w))
    env = {k: str(data) if v == DATA_IN_README else v for k, v in env.items()}
    shutil.copy(ROOT / "S11_SuperConvergence.ipynb", cwd)
    command = words[len(env):]
    assert command[0] == "jupyter"  # this Python's: the one on PATH may be another environment's
    return subprocess.run([sys.executable, "-m", "jupyter", *command[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **env, "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg",
                                                "JUPYTER_PATH": str(kernel_here(cwd / "jupyter"))})
