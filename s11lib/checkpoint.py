"""Checkpoints that resume a run exactly: written atomically, read with clear errors.

A checkpoint holds the model, optimizer and scheduler, the history so far, the config, the
LRs, and every random state the rest of the run depends on (torch, numpy, Python, and the
training loader's shuffling and augmentation streams). On the CPU a run stopped after
epoch k and resumed ends with the same history and weights as one that never stopped.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import torch

from .config import Config, ConfigError, InputError

FORMAT = 2  # bump when the layout changes; older files are refused with a clear message


class CheckpointError(InputError):
    """A checkpoint that is missing, unreadable or not from this model and config."""


def atomic_save(obj, path: Path) -> None:
    """torch.save to a temporary file beside ``path``, then rename: never half a checkpoint."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:  # Ctrl-C or SIGTERM mid-write included: keep the old checkpoint, drop the partial one
        tmp.unlink(missing_ok=True)
        raise


SLIM_KEYS = ("format", "config", "model", "epoch", "history", "lr_min", "lr_max", "lr_finder")


def slim(path: Path) -> None:
    """Keep what a finished run's checkpoint is read for later (the weights for ``gradcam``, the config,
    history and LRs) and drop what only a resume needs (SGD's momentum, the scheduler, the loader's
    and the random states): ResNet-9's 52.6 MB become its 26.3 MB of weights. Atomic, like every save."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    atomic_save({k: ckpt[k] for k in SLIM_KEYS if k in ckpt}, path)


def resumable(ckpt: dict) -> bool:
    """Whether a checkpoint can continue its run: a finished sweep point's (``slim``) holds its weights alone."""
    return all(k in ckpt for k in ("optimizer", "scheduler", "loader", "rng"))


def load(path: Path) -> dict:
    """Read and check a checkpoint written by ``train``."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist; pass the checkpoint.pt that train wrote, or its run folder")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # unpickling fails in many ways on a damaged file
        raise CheckpointError(f"checkpoint {path} cannot be read ({e.__class__.__name__}); it may be truncated or corrupt") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT or "model" not in ckpt or "config" not in ckpt:
        raise CheckpointError(f"{path} is not a checkpoint of this version of s11lib train; train again or pass another file")
    try:
        ckpt["config"] = Config.from_dict(ckpt["config"])
    except (ConfigError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path} holds a config this version cannot use ({e})") from None
    return ckpt


def load_weights(model: torch.nn.Module, ckpt: dict, path: Path) -> None:
    try:
        model.load_state_dict(ckpt["model"])
    except RuntimeError as e:
        raise CheckpointError(f"checkpoint {path} does not fit this ResNet-9 ({str(e).splitlines()[0]})") from None


def rng_state() -> dict:
    """Every global random state, in types that ``torch.load(weights_only=True)`` reads back."""
    np_state = np.random.get_state(legacy=False)
    np_state["state"]["key"] = np_state["state"]["key"].tolist()
    state = {"torch": torch.get_rng_state(), "numpy": np_state, "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np_state = {**state["numpy"], "state": {**state["numpy"]["state"], "key": np.array(state["numpy"]["state"]["key"], dtype=np.uint32)}}
    np.random.set_state(np_state)
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
