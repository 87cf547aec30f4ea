"""The notebook's settings from the environment, read as typed: a boolean as the command line reads one,
a path with ``~`` and variables expanded, and the smoke run saying which typed settings it changes.

    SMOKE = settings.flag("S11_SMOKE")                        # 1/true/yes, 0/false/no; anything else one line
    RUN_DIR = settings.path("S11_RUN", "runs/notebook")       # "~/s11-runs" is the home folder's, not "./~"
    SEED = settings.integer("S11_SEED", 1)                    # "3" is 3; "3.0" or "three" one line
    cfg = settings.smoke(cfg) if SMOKE else cfg               # prints each field it changes
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from .config import SMOKE_RUN, Config, ConfigError

TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off", "")


def flag(name: str, environ=None) -> bool:
    """The environment variable ``name`` as a boolean: unset, empty, 0/false/no/off are False; 1/true/yes/on
    True (any case).

    Raises:
        ConfigError: any other value, in one line that names the variable and what it takes.
    """
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ConfigError(f"{name} must be 1, true or yes (or 0, false, no), got {value!r}")


def integer(name: str, default: int, environ=None) -> int:
    """The environment variable ``name`` (else ``default``) as a whole number, written in digits.

    Raises:
        ConfigError: any other value ("3.0", "three"), in one line that names the variable.
    """
    value = (os.environ if environ is None else environ).get(name, "").strip()
    if not value:
        return default
    try:
        return int(value, 10)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None


def path(name: str, default: str | Path, environ=None, folder: bool = False) -> Path:
    """The environment variable ``name`` (else ``default``) as a path, ``~`` and ``$VARIABLES`` expanded.

    Raises:
        ConfigError: ``folder`` is asked for and the path is a file.
    """
    value = (os.environ if environ is None else environ).get(name) or str(default)
    found = _expanded(value)
    if folder and found.is_file():
        raise ConfigError(f"{name} names a file, {found}; set it to a folder (made if missing) and rerun this cell")
    return found


def paths(name: str, environ=None) -> list[Path]:
    """The environment variable ``name`` as a list of paths, separated by ``os.pathsep`` (":"; ";" on
    Windows), each with ``~`` and ``$VARIABLES`` expanded; unset or empty: none."""
    value = (os.environ if environ is None else environ).get(name, "")
    return [_expanded(p) for p in value.split(os.pathsep) if p.strip()]


def _expanded(value: str) -> Path:
    """``value`` as a path, ``~`` and ``$VARIABLES`` expanded."""
    return Path(os.path.expanduser(os.path.expandvars(value)))


def smoke(cfg: Config) -> Config:
    """``cfg`` as the smoke run (SMOKE_RUN: 500 images, 2 epochs, the CPU, no progress bars), printing each
    setting it changes from what ``cfg`` held, typed or default, so that none changes without a word."""
    wanted = {**SMOKE_RUN, "progress": False}
    changed = {k: v for k, v in wanted.items() if getattr(cfg, k) != v}
    if changed:
        print("smoke run: " + ", ".join(f"{k} {getattr(cfg, k)!r} -> {v!r}" for k, v in changed.items()))
    return dataclasses.replace(cfg, **wanted)
