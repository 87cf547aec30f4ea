"""Leslie Smith's LR range test with ``torch_lr_finder.LRFinder``: one test, or several (one
seed each) whose median pair a run trains at. The curve is read by ``lr_rules``."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import warnings
from unittest import mock

import numpy as np
import torch
import torch_lr_finder.lr_finder
from torch import nn
from torch_lr_finder import LRFinder, TrainDataLoaderIter

from .config import Config
from .engine import autocast_dtype, build_model, make_optimizer, seed_everything, show_progress
from .lr_rules import LRSearch, RangeTest, median_pair, read_curve


def default_iters(steps_per_epoch: int) -> int:
    """Two epochs' worth of batches, at least 20 and at most 100 (sized to the data given)."""
    return int(min(100, max(20, 2 * steps_per_epoch)))


def range_test(model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module, loader,
               device: torch.device, *, start_lr: float = 1e-4, end_lr: float = 10.0, num_iter: int = 100,
               autocast_dtype: torch.dtype | None = None, progress: bool = False, rule: str = "diverge") -> RangeTest:
    """Run the exponential LR range test on ``loader`` and read LRMIN and LRMAX off its curve with ``rule``.

    Uses the real model, optimizer and loss; the model's weights and the optimizer's state
    (LR included) are restored afterwards, whatever happens.

    Args:
        loader: a DataLoader or any iterable of (x, y) batches (``DeviceLoader``).
        autocast_dtype: run the test under ``torch.autocast`` with this dtype (as training does).
        progress: show the library's progress bar; its printed messages are always dropped
            (what the curve showed is in the returned ``note`` and ``warnings``).
    """
    amp = {}
    if autocast_dtype is not None:
        amp = dict(amp_backend="torch", amp_config={"device_type": device.type, "dtype": autocast_dtype},
                   grad_scaler=torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16))
    finder = LRFinder(model, optimizer, criterion, device=device, **amp)
    try:
        bar = contextlib.nullcontext() if progress else mock.patch.object(
            torch_lr_finder.lr_finder, "tqdm", functools.partial(torch_lr_finder.lr_finder.tqdm, disable=True))
        with bar, contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            finder.range_test(TrainDataLoaderIter(loader), start_lr=start_lr, end_lr=end_lr, num_iter=num_iter,
                              smooth_f=0.0, diverge_th=5)
        lrs, losses = np.asarray(finder.history["lr"]), np.asarray(finder.history["loss"])
    finally:
        finder.reset()
    return read_curve(lrs, losses, rule)


def find_lrs(model: nn.Module, cfg: Config, train_loader, device: torch.device) -> LRSearch:
    """``cfg.finder_repeat`` range tests with the recipe's optimizer, loss, precision and range,
    each on a throw-away optimizer, read with ``cfg.lr_rule``; returns their median pair.

    The first test uses ``model`` (which comes back unchanged) and the streams as they are;
    test i > 0 seeds the global streams with ``cfg.seed + i`` and builds a model of its own.
    """
    iters = cfg.finder_iters or default_iters(len(train_loader))
    tests = []
    for i in range(cfg.finder_repeat):
        if i:
            seed_everything(cfg.seed + i)
            model = build_model(cfg, device)
        rt = range_test(model, make_optimizer(model, cfg, cfg.finder_start_lr), nn.CrossEntropyLoss(), train_loader,
                        device, start_lr=cfg.finder_start_lr, end_lr=cfg.finder_end_lr, num_iter=iters,
                        autocast_dtype=autocast_dtype(cfg.precision, device), progress=show_progress(cfg),
                        rule=cfg.lr_rule)
        tests.append(dataclasses.replace(rt, seed=cfg.seed + i))
    return median_pair(tests)
