"""What a message tells its reader to do, in the words of where they are: the command line (its flags),
Python (``s11lib.train(...)``'s keyword arguments) or the notebook (its cells and variables).

Every such hint is spelled here, once per place; a message asks for it by name (``say("lrs")``). The
command line is the default; ``s11lib.train()`` and the other calls speak Python while they run; the
notebook's first cell calls ``use(NOTEBOOK)`` for its kernel.
"""

from __future__ import annotations

import contextlib
import contextvars

CLI, PYTHON, NOTEBOOK = "command line", "Python", "notebook"

HINTS = {
    "lrs": {CLI: "pass --min-lr and --max-lr",
            PYTHON: "pass min_lr and max_lr",
            NOTEBOOK: "set LR_MIN, LR_MAX in the cell after the range test and run on from there"},
    "pair": {CLI: "give the pair yourself with --min-lr and --max-lr",
             PYTHON: "give the pair yourself with min_lr and max_lr",
             NOTEBOOK: "give the pair yourself: LR_MIN, LR_MAX in the cell after the range test"},
    "lrs both": {CLI: "give both --min-lr and --max-lr",
                 PYTHON: "give both min_lr and max_lr",
                 NOTEBOOK: "set both LR_MIN and LR_MAX in the cell after the range test"},
    "no data": {CLI: "pass --data torchvision to download CIFAR-10, or a folder/archive",
                PYTHON: "pass data='torchvision' to download CIFAR-10, or a folder/archive",
                NOTEBOOK: "set S11_DATA to a folder/archive (unset: torchvision's download) and rerun from the "
                          "parameters cell"},
    "offline": {CLI: "without internet, pass --data PATH to a local copy",
                PYTHON: "without internet, pass data=PATH, a local copy",
                NOTEBOOK: "without internet, set S11_DATA to a local copy and rerun from the parameters cell"},
    "data dir": {CLI: "name a writable folder to download CIFAR-10 into with --data-dir, or pass --data PATH to a "
                      "local copy",
                 PYTHON: "pass data_dir, a writable folder to download CIFAR-10 into, or data=PATH, a local copy",
                 NOTEBOOK: "set S11_DATA to a local copy, or Config(data_dir=...) to a writable folder"},
    "folder": {CLI: "pass a writable folder",
               PYTHON: "pass a writable folder",
               NOTEBOOK: "set S11_RUN to a writable folder and rerun from the parameters cell"},
    "resume": {CLI: "continue it with: python -m s11lib train --resume {out}",
               PYTHON: "continue it in a terminal with: python -m s11lib train --resume {out}",
               NOTEBOOK: "rerun the training cell to continue it"},
    "score": {CLI: "score it and draw its figures with: python -m s11lib train --resume {out}",
              PYTHON: "score it and draw its figures in a terminal with: python -m s11lib train --resume {out}",
              NOTEBOOK: "rerun the training cell to score it and draw its figures"},
    "continue": {CLI: "train --resume continues it",
                 PYTHON: "python -m s11lib train --resume continues it",
                 NOTEBOOK: "rerun its training cell to continue it"},
    "elsewhere": {CLI: "pass another --out",
                  PYTHON: "pass another out",
                  NOTEBOOK: "set S11_RUN to another folder and rerun from the parameters cell"},
    "lower": {CLI: "Try a lower --max-lr",
              PYTHON: "Try a lower max_lr",
              NOTEBOOK: "Try a lower LR_MAX in the cell after the range test"},
    "again": {CLI: "the same command starts it again",
              PYTHON: "the same call starts it again",
              NOTEBOOK: "rerun the cell to start it again"},
    "replace": {CLI: "replace it with --overwrite (which removes it), or pass another --out",
                PYTHON: "replace it with overwrite=True (which removes it), or pass another out",
                NOTEBOOK: "delete that folder, or set S11_RUN to another folder and rerun from the parameters cell"},
}

_kernel = [CLI]  # the notebook's kernel says NOTEBOOK for the rest of its life
_call: contextvars.ContextVar[str | None] = contextvars.ContextVar("s11lib_voice", default=None)


def use(where: str) -> None:
    """Speak to ``where`` (CLI, PYTHON or NOTEBOOK) from now on in this process: the notebook's first cell."""
    if where not in (CLI, PYTHON, NOTEBOOK):
        raise ValueError(f"no voice {where!r}")
    _kernel[0] = where


@contextlib.contextmanager
def speaking(where: str):
    """Speak to ``where`` while the block runs (``s11lib.train()`` and the other calls: PYTHON)."""
    token = _call.set(where)
    try:
        yield
    finally:
        _call.reset(token)


def current() -> str:
    return _call.get() or _kernel[0]


def setting(name: str, value=None) -> str:
    """A Config field as the reader sets it: ``--peak-epoch 1`` on the command line, ``peak_epoch=1`` in Python
    and in the notebook's config cell."""
    if current() == CLI:
        flag = "--" + name.replace("_", "-")
        return flag if value is None else f"{flag} {value}"
    return name if value is None else f"{name}={value!r}"


def say(name: str, **fields) -> str:
    """The hint ``name`` for where the reader is, with ``fields`` filled in."""
    return HINTS[name][current()].format(**fields)
