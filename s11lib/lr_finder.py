"""Leslie Smith's LR range test with ``torch_lr_finder.LRFinder``, and the rule that reads
LRMIN and LRMAX off its curve.

The rule (README, "How LRMIN and LRMAX are found"):

* the raw per-batch losses are smoothed with a centred moving average (no lag, unlike the
  library's exponential smoothing, which shifts the curve to higher LRs by ~1 decade over
  100 iterations);
* LRMAX is the LR at the minimum of the smoothed loss *before it first turns up*: the curve
  is cut where the smoothed loss rises above its running minimum by more than a quarter of
  the drop so far (or 5% of the starting loss, whichever is larger), and LRMAX is the LR of
  the lowest point before the cut: the largest LR that still makes progress (Smith, 2018,
  sec. 4.1). The cut matters: BatchNorm nets often recover at absurd LRs (loss falling
  again near LR 10), and taking the global minimum then picks LR 10, which trained to 74.8%
  instead of ~90% on an H200 (bench/RESULTS.md);
* LRMIN is the LR where the smoothed loss has fallen by 10% of its total drop from the
  start to that minimum: where the loss "starts to fall".

Fallback (with a warning): when the test gives fewer than 5 usable points, or its minimum is
its first point (the loss only rises: it diverged at once), LRMAX is the LR of the lowest
loss seen (the start LR if none) and LRMIN = LRMAX / 10. The same LRMIN is used whenever the
10% point is not below LRMAX.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch_lr_finder import LRFinder, TrainDataLoaderIter

from .config import Config
from .engine import autocast_dtype, make_optimizer

MIN_POINTS = 5
FALL_FRACTION = 0.10  # LRMIN: where the loss has fallen by this share of its total drop
FALLBACK_DIV = 10.0  # LRMIN = LRMAX / this when the curve cannot say
RISE_OF_DROP = 0.25  # the curve is cut where the loss rises this share of its drop so far above its minimum...
RISE_OF_START = 0.05  # ...or this share of the starting loss, whichever is larger (ignores early noise)


@dataclass(frozen=True)
class RangeTest:
    lrs: np.ndarray  # LR of each batch of the test
    losses: np.ndarray  # raw training loss of each batch
    smoothed: np.ndarray  # centred moving average of ``losses``
    lr_min: float
    lr_max: float
    note: str  # how lr_min and lr_max were picked (the rule, or which fallback)


def smooth(losses: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centred moving average; the window (odd, >= 3 points, ~1/10 of the curve) shrinks at the ends."""
    n = len(losses)
    if n == 0:
        return losses.copy()
    w = window or max(3, n // 10)
    half = w // 2
    csum = np.concatenate([[0.0], np.cumsum(losses)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (csum[hi] - csum[lo]) / (hi - lo)


def pick_lrs(lrs: np.ndarray, losses: np.ndarray) -> tuple[float, float, str, np.ndarray]:
    """LRMIN, LRMAX, how they were picked, and the smoothed curve (NaN past the first non-finite loss)."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    usable = int(np.argmin(np.isfinite(losses))) if not np.isfinite(losses).all() else len(losses)
    smoothed = np.full(len(losses), np.nan)
    smoothed[:usable] = smooth(losses[:usable])
    fallback = f"LRMAX = LR of the lowest loss, LRMIN = LRMAX/{FALLBACK_DIV:g}"
    if usable < MIN_POINTS:
        lr_max = float(lrs[np.argmin(losses[:usable])]) if usable else float(lrs[0])
        return lr_max / FALLBACK_DIV, lr_max, f"fallback: only {usable} usable points; {fallback}", smoothed
    i_max = int(np.argmin(smoothed[: first_rise(smoothed[:usable])]))
    lr_max = float(lrs[i_max])
    if i_max == 0:
        return lr_max / FALLBACK_DIV, lr_max, f"fallback: the loss only rose (diverged at once); {fallback}", smoothed
    target = smoothed[0] - FALL_FRACTION * (smoothed[0] - smoothed[i_max])
    i_min = int(np.argmax(smoothed[: i_max + 1] <= target))
    if i_min >= i_max:
        return lr_max / FALLBACK_DIV, lr_max, f"LRMAX at the loss minimum; no earlier fall, so LRMIN = LRMAX/{FALLBACK_DIV:g}", smoothed
    return float(lrs[i_min]), lr_max, "LRMAX at the smoothed loss minimum before it turns up; LRMIN where it has fallen by 10% of its drop", smoothed


def first_rise(smoothed: np.ndarray) -> int:
    """Index of the first point that rises clearly above the running minimum (len if none)."""
    run_min = np.minimum.accumulate(smoothed)
    threshold = np.maximum(RISE_OF_DROP * (smoothed[0] - run_min), RISE_OF_START * abs(smoothed[0]))
    rises = np.flatnonzero(smoothed - run_min > threshold)
    return int(rises[0]) if len(rises) else len(smoothed)


def default_iters(steps_per_epoch: int) -> int:
    """Two epochs' worth of batches, at least 20 and at most 100 (sized to the data given)."""
    return int(min(100, max(20, 2 * steps_per_epoch)))


def range_test(model: nn.Module, optimizer: torch.optim.Optimizer, criterion: nn.Module, loader,
               device: torch.device, *, start_lr: float = 1e-4, end_lr: float = 10.0, num_iter: int = 100,
               autocast_dtype: torch.dtype | None = None, verbose: bool = False) -> RangeTest:
    """Run the exponential LR range test on ``loader`` and pick LRMIN and LRMAX from its curve.

    Uses the real model, optimizer and loss; the model's weights and the optimizer's state
    (LR included) are restored afterwards, whatever happens.

    Args:
        loader: a DataLoader or any iterable of (x, y) batches (``DeviceLoader``).
        autocast_dtype: run the test under ``torch.autocast`` with this dtype (as training does).
    """
    amp = {}
    if autocast_dtype is not None:
        amp = dict(amp_backend="torch", amp_config={"device_type": device.type, "dtype": autocast_dtype},
                   grad_scaler=torch.amp.GradScaler(device.type, enabled=autocast_dtype == torch.float16))
    finder = LRFinder(model, optimizer, criterion, device=device, **amp)
    try:
        # The library prints and draws a progress bar of its own; keep them unless asked.
        quiet = contextlib.nullcontext() if verbose else contextlib.redirect_stdout(io.StringIO())
        with quiet, warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            finder.range_test(TrainDataLoaderIter(loader), start_lr=start_lr, end_lr=end_lr, num_iter=num_iter,
                              smooth_f=0.0, diverge_th=5)
        lrs, losses = np.asarray(finder.history["lr"]), np.asarray(finder.history["loss"])
    finally:
        finder.reset()
    lr_min, lr_max, note, smoothed = pick_lrs(lrs, losses)
    if note.startswith("fallback"):
        warnings.warn(f"LR range test: {note}: LRMIN={lr_min:.3g}, LRMAX={lr_max:.3g}", stacklevel=2)
    return RangeTest(lrs, losses, smoothed, lr_min, lr_max, note)


def find_lrs(model: nn.Module, cfg: Config, train_loader, device: torch.device) -> RangeTest:
    """``range_test`` with the recipe's optimizer, loss, precision and range, on a throw-away
    optimizer (the model comes back unchanged)."""
    optimizer = make_optimizer(model, cfg, cfg.finder_start_lr)
    iters = cfg.finder_iters or default_iters(len(train_loader))
    return range_test(model, optimizer, nn.CrossEntropyLoss(), train_loader, device, start_lr=cfg.finder_start_lr,
                      end_lr=cfg.finder_end_lr, num_iter=iters, autocast_dtype=autocast_dtype(cfg.precision, device))
