"""What made a record: the code (s11lib's version, the git commit it ran from) and the machine (torch,
the device's name, torch's threads). Every metrics.json and every sweep row carries them, so a
number can be traced to what produced it.

Threads belong to the record: on the CPU they change the sums, and so the numbers (docs/sweeps.md has one
sweep point at 2 threads and at 1).
"""

from __future__ import annotations

import functools
import platform
import subprocess
from pathlib import Path

from ._meta import PACKAGE, version


@functools.lru_cache(maxsize=1)
def commit() -> str | None:
    """The git commit of the checkout this s11lib runs from ("-dirty" when its files changed); else the one an
    installed copy was built from (``COMMIT``, written by setup.py's build); else None (a copy of the folder,
    a Ray worker's), even where its folder lies inside some other git work tree."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(PACKAGE), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return (done.stdout.strip() or None) if done.returncode == 0 else None

    top = git("rev-parse", "--show-toplevel")
    if top is None or Path(top).resolve() != PACKAGE.parent:  # s11lib/ sits at the top of its own checkout
        built = PACKAGE / "COMMIT"
        return built.read_text().strip() or None if built.is_file() else None
    return git("describe", "--always", "--dirty", "--abbrev=7")


def code() -> dict:
    """{"s11lib_version", "commit"}: the code a record comes from (a Ray driver passes its own to its tasks)."""
    return {"s11lib_version": version(), "commit": commit()}


def cpu_model() -> str:
    """The processor's name as the system reports it ("AMD EPYC", "Intel(R) Xeon(R) Platinum 8480+")."""
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        name = ""
    return name or platform.processor() or platform.machine() or "unknown CPU"


def device_name(device) -> str:
    """The GPU's name, or the CPU's model and whether it has native bf16: "AMD EPYC (no native bf16)",
    "Intel(R) Xeon(R) Processor (native bf16: AMX-BF16)"."""
    import torch

    from .engine import cpu_bf16

    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "cpu":
        has = cpu_bf16()
        return f"{cpu_model()} (native bf16: {has})" if has else f"{cpu_model()} (no native bf16)"
    return device.type


def machine(device) -> dict:
    """{"torch_version", "device_name", "threads"}: where a record was measured."""
    import torch

    return {"torch_version": str(torch.__version__), "device_name": device_name(device), "threads": torch.get_num_threads()}
