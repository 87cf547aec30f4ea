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

When the curve cannot answer, the note says what it showed and a warning says the pair
cannot be trusted (``RangeTest.warnings``; pass --min-lr and --max-lr instead):

* fewer than 5 usable points: LRMAX is the LR of the lowest loss seen, LRMIN = LRMAX / 10;
* flat (the loss never fell by 5% of its start before it turned up, or at all; it "only
  rose" when it turned up at once): LRMAX is a decade below where it turned up (below the
  sweep's end if it never did), LRMIN = LRMAX / 10;
* it fell but never turned up: the minimum is then just the sweep's end, which is no LRMAX
  (two H200 runs picked LR 10 that way and ended at 74.8%); LRMAX is the LR of the steepest
  fall instead, at least a decade below the end;
* the pair itself looks wrong: LRMIN on the sweep's first points (the fall had begun before
  the sweep), or LRMAX more than ``MAX_SPAN`` times LRMIN.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from dataclasses import dataclass
from unittest import mock

import numpy as np
import torch
import torch_lr_finder.lr_finder
from torch import nn
from torch_lr_finder import LRFinder, TrainDataLoaderIter

from .config import MIN_FINDER_ITERS, Config
from .engine import autocast_dtype, make_optimizer, show_progress

MIN_POINTS = MIN_FINDER_ITERS
FALL_FRACTION = 0.10  # LRMIN: where the loss has fallen by this share of its total drop
FALLBACK_DIV = 10.0  # LRMIN = LRMAX / this when the curve cannot say; also LRMAX's decade below a turn-up
RISE_OF_DROP = 0.25  # the curve is cut where the loss rises this share of its drop so far above its minimum...
RISE_OF_START = 0.05  # ...or this share of the starting loss, whichever is larger (ignores early noise)
FLAT_OF_START = 0.05  # a curve whose loss never fell by this share of its start is flat: nothing to read
MAX_SPAN = 250.0  # LRMAX / LRMIN above this is suspect (Page's pair, 0.004 and 0.4, spans 100)
TRUST_HINT = "pass --min-lr and --max-lr (0.004 and 0.4 are Page's pair for this net)"


@dataclass(frozen=True)
class RangeTest:
    lrs: np.ndarray  # LR of each batch of the test
    losses: np.ndarray  # raw training loss of each batch
    smoothed: np.ndarray  # centred moving average of ``losses`` (NaN past the first non-finite loss)
    lr_min: float
    lr_max: float
    note: str  # what the curve showed and how lr_min and lr_max were picked
    warnings: tuple[str, ...] = ()  # why the pair cannot be trusted; empty when it can


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


def pick_lrs(lrs: np.ndarray, losses: np.ndarray) -> RangeTest:
    """Read LRMIN and LRMAX off a range test's curve (module docstring), saying what it showed."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    usable = int(np.argmin(np.isfinite(losses))) if not np.isfinite(losses).all() else len(losses)
    smoothed = np.full(len(losses), np.nan)
    smoothed[:usable] = smooth(losses[:usable])

    def result(lr_min: float, lr_max: float, note: str, *, trusted: bool = False,
               doubts: tuple[str, ...] = ()) -> RangeTest:
        distrust = () if trusted else (f"{note}; this LRMIN/LRMAX pair cannot be trusted: {TRUST_HINT}",)
        return RangeTest(lrs, losses, smoothed, float(lr_min), float(lr_max), note, distrust + doubts)

    if usable < MIN_POINTS:
        lr_max = lrs[np.argmin(losses[:usable])] if usable else lrs[0]
        return result(lr_max / FALLBACK_DIV, lr_max, f"only {usable} usable points (fewer than {MIN_POINTS}); "
                      f"LRMAX = LR of the lowest loss, LRMIN = LRMAX/{FALLBACK_DIV:g}")
    curve = smoothed[:usable]
    cut = first_rise(curve)
    start, fell = curve[0], curve[0] - curve[:cut].min()
    if fell < FLAT_OF_START * abs(start):
        if cut < usable:
            lr_max = lrs[cut] / FALLBACK_DIV
            shape = "only rose" if cut <= 1 or fell <= 0 else "stayed flat"
            showed = f"the loss {shape} (fell {fell / abs(start):.1%} at most) and turned up at LR {lrs[cut]:.3g}"
        else:
            lr_max = lrs[usable - 1] / FALLBACK_DIV
            showed = f"the loss stayed flat over the whole sweep (fell {fell / abs(start):.1%} at most)"
        return result(lr_max / FALLBACK_DIV, lr_max, f"{showed}; LRMAX a decade below that, LRMIN = LRMAX/{FALLBACK_DIV:g}")
    if cut == usable:  # fell to the end of the sweep: its minimum is the sweep's end, not a limit of the net
        below_end = np.flatnonzero(lrs[:usable] <= lrs[usable - 1] / FALLBACK_DIV)
        slope = np.gradient(curve, np.log(lrs[:usable]))
        i_max = int(below_end[np.argmin(slope[below_end])]) if len(below_end) else 0
        note = (f"the loss fell to the sweep's end (LR {lrs[usable - 1]:.3g}) without turning up; "
                "LRMAX at its steepest fall instead")
        trusted = False
    else:
        i_max = int(np.argmin(curve[:cut]))
        note = "LRMAX at the smoothed loss minimum before it turns up"
        trusted = True
    lr_max = lrs[i_max]
    target = start - FALL_FRACTION * (start - curve[i_max])
    i_min = int(np.argmax(curve[: i_max + 1] <= target))
    if i_min >= i_max:
        return result(lr_max / FALLBACK_DIV, lr_max, f"{note}; no earlier fall, so LRMIN = LRMAX/{FALLBACK_DIV:g}",
                      trusted=trusted)
    doubts = []
    if i_min <= 1:
        doubts.append(f"LRMIN {lrs[i_min]:.3g} is at the sweep's start: the loss was already falling there, so LRMIN "
                      f"may be lower than the curve shows (lower --finder-start-lr, or {TRUST_HINT})")
    if lr_max / lrs[i_min] > MAX_SPAN:
        doubts.append(f"LRMAX {lr_max:.3g} is {lr_max / lrs[i_min]:.0f}x LRMIN {lrs[i_min]:.3g}, more than "
                      f"{MAX_SPAN:g}x: the curve is probably too short or too noisy ({TRUST_HINT})")
    return result(lrs[i_min], lr_max, f"{note}; LRMIN where it has fallen by 10% of its drop", trusted=trusted,
                  doubts=tuple(doubts))


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
               autocast_dtype: torch.dtype | None = None, progress: bool = False) -> RangeTest:
    """Run the exponential LR range test on ``loader`` and pick LRMIN and LRMAX from its curve.

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
    return pick_lrs(lrs, losses)


def find_lrs(model: nn.Module, cfg: Config, train_loader, device: torch.device) -> RangeTest:
    """``range_test`` with the recipe's optimizer, loss, precision and range, on a throw-away
    optimizer (the model comes back unchanged)."""
    optimizer = make_optimizer(model, cfg, cfg.finder_start_lr)
    iters = cfg.finder_iters or default_iters(len(train_loader))
    return range_test(model, optimizer, nn.CrossEntropyLoss(), train_loader, device, start_lr=cfg.finder_start_lr,
                      end_lr=cfg.finder_end_lr, num_iter=iters, autocast_dtype=autocast_dtype(cfg.precision, device),
                      progress=show_progress(cfg))
