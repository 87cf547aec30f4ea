"""A run's state and the steps every job takes on it: the train job (``training.py``), the range test
(``range_tests.py``), the notebook's tries and a sweep's points all follow them.

    state = prepare(cfg)                                   # data, loaders, a fresh model
    search = range_tests.search_lrs(state)                 # the range test(s), when an LR is not given
    lr_min, lr_max = range_tests.choose_lrs(cfg, search)   # refuses a pair the range test cannot vouch for
    fitted = fit(state, lr_min, lr_max)                    # one cycle, a checkpoint after each epoch if asked
    results = analyse(state, fitted)                       # flip TTA, confusion, the worst mistakes
    records.metrics(state, fitted, results)                # metrics.json's content
    gradcam.explain(state, results)                        # GradCAM maps of the mistakes
    figures.FIGURES["accuracy.png"](state, fitted, results)  # ... each figure (figures.py)

No step imports the CLI.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from . import engine
from .config import Config
from .datasets import Cifar10, load_cifar10
from .engine import build_model, flip_tta_accuracy, start_run
from .loaders import make_loaders
from .lr_rules import LRSearch
from .mistakes import Misclassified, confusion_matrix, find_misclassified, most_confused, per_class_accuracy
from .requirements import check_torchvision


@dataclass
class State:
    """What the steps share: the recipe, the device, the data and its loaders, the model."""

    cfg: Config
    device: torch.device
    data: Cifar10
    train_loader: object
    test_loader: object
    model: nn.Module
    data_seconds: float
    search: LRSearch | None = None  # the range test(s) of this config, run (or read back) in this process
    lr_finder: dict | None = None  # what they found, as checkpoints and metrics.json keep it: rule, note, warnings
    finder_seconds: float = 0.0
    starts: list[dict] = field(default_factory=list)  # each start and resume of the run: epoch, time, code, machine


@dataclass
class Results:
    """What ``analyse`` finds in a trained model's last evaluation."""

    tta: float  # test accuracy (percent) with flip TTA
    confusion: np.ndarray
    per_class: dict[str, float]
    confused: list[tuple[str, str, int]]
    mistakes: Misclassified
    cams: dict[str, np.ndarray] = field(default_factory=dict)  # "predicted", "true": overlays of the mistakes


def prepare(cfg: Config, data: Cifar10 | None = None) -> State:
    """Check torchvision, seed the run, read the data (unless given), build its loaders and a fresh model."""
    check_torchvision()
    device = start_run(cfg)
    t0 = time.perf_counter()
    data = data or load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    train_loader, test_loader = make_loaders(data, cfg, device)
    return State(cfg, device, data, train_loader, test_loader, build_model(cfg, device), time.perf_counter() - t0)


def restart(state: State) -> State:
    """A fresh start on the same data (re-seeded: new loaders, a new model), the range test's result kept:
    rerunning training gives the same run again, not a continuation."""
    fresh = prepare(state.cfg, state.data)
    return dataclasses.replace(fresh, data_seconds=state.data_seconds, search=state.search, lr_finder=state.lr_finder,
                               finder_seconds=state.finder_seconds, starts=state.starts)


def fit(state: State, lr_min: float, lr_max: float, *, on_epoch=None, resume: dict | None = None) -> dict:
    """Train ``state.model`` through one cycle (``engine.fit``); returns its history, the LR of each
    batch, the last evaluation's outputs, and the pair ("lr_min", "lr_max")."""
    fitted = engine.fit(state.model, state.train_loader, state.test_loader, state.cfg, state.device, lr_min=lr_min,
                       lr_max=lr_max, on_epoch=on_epoch, resume=resume)
    return {**fitted, "lr_min": lr_min, "lr_max": lr_max}


def analyse(state: State, fitted: dict) -> Results:
    """Flip TTA, the confusion matrix and the worst mistakes of the last evaluation (no second pass)."""
    cfg = state.cfg
    outputs = fitted["test_outputs"]  # of the evaluation that gave the last test accuracy, in its precision
    confusion = confusion_matrix(state.data.test.labels, outputs["preds"])
    mis = find_misclassified(state.data.test, outputs, spread=cfg.misclassified_by_class)
    return Results(flip_tta_accuracy(state.model, state.test_loader, cfg, state.device), confusion,
                   per_class_accuracy(confusion), most_confused(confusion), mis)
