"""Learning-rate schedules as pure functions of the step, and the optimizer-side scheduler.

Steps are batches, counted from 0: batch ``i`` is trained at ``one_cycle_lr(i, ...)``.
"""

from __future__ import annotations

import numpy as np
import torch


def one_cycle_lr(step: int, *, total_steps: int, peak_step: int, lr_min: float, lr_max: float) -> float:
    """Linear one cycle without annihilation: lr_min at step 0 -> lr_max at ``peak_step`` -> lr_min at the last step.

    Any length works: with ``peak_step`` 0 (one batch an epoch, peak at epoch 1) the first
    batch is the peak. The LR never leaves [lr_min, lr_max]: steps past either end hold the
    end's value.

    Args:
        step: the batch, counted from 0.
        total_steps: batches in the whole run (>= 2).
        peak_step: the batch trained at lr_max, in 0 .. total_steps - 2.
    """
    last = total_steps - 1
    if not 0 <= peak_step < last:
        raise ValueError(f"peak_step must be in 0..{last - 1} for {total_steps} steps, got {peak_step}")
    step = min(max(step, 0), last)
    if step < peak_step:
        return lr_min + (lr_max - lr_min) * step / peak_step
    if step == last:
        return lr_min
    return lr_max + (lr_min - lr_max) * (step - peak_step) / (last - peak_step)


def step_lr(step: int, *, total_steps: int, lr_max: float) -> float:
    """He et al.'s (2016) piecewise-constant CIFAR schedule: lr_max for the first half of the run,
    lr_max/10 to three quarters, lr_max/100 to the end (24 epochs: 12, 6 and 6 epochs)."""
    fraction = min(max(step, 0), total_steps - 1) / total_steps
    return lr_max if fraction < 1 / 2 else lr_max / 10 if fraction < 3 / 4 else lr_max / 100


def constant_lr(step: int, *, lr_max: float) -> float:
    """lr_max at every step: the baseline a schedule must beat."""
    return lr_max


def lr_at(schedule: str, step: int, *, epochs: int, steps_per_epoch: int, peak_epoch: int, lr_min: float,
          lr_max: float) -> float:
    """The LR of batch ``step`` under ``schedule`` ("one-cycle", "step" or "constant"); lr_min and
    peak_epoch are the one cycle's alone."""
    total = epochs * steps_per_epoch
    if schedule == "one-cycle":
        return one_cycle_lr(step, total_steps=total, peak_step=peak_step(peak_epoch, steps_per_epoch), lr_min=lr_min,
                            lr_max=lr_max)
    if schedule == "step":
        return step_lr(step, total_steps=total, lr_max=lr_max)
    if schedule == "constant":
        return constant_lr(step, lr_max=lr_max)
    raise ValueError(f"unknown schedule {schedule!r}; one of {', '.join(SCHEDULES)}")


SCHEDULES = ("one-cycle", "step", "constant")


def peak_step(peak_epoch: int, steps_per_epoch: int) -> int:
    """The batch trained at max_lr: the last batch of epoch ``peak_epoch`` (1-based)."""
    return peak_epoch * steps_per_epoch - 1


def scheduler(optimizer: torch.optim.Optimizer, schedule: str = "one-cycle", *, epochs: int, steps_per_epoch: int,
              peak_epoch: int, lr_min: float, lr_max: float) -> torch.optim.lr_scheduler.LambdaLR:
    """A per-batch scheduler that sets the optimizer's LR to ``lr_at(schedule, step, ...)`` at every step.

    ``LambdaLR`` over the pure function, rather than torch's ``OneCycleLR``: the latter
    divides by the length of each phase, which is zero for one batch an epoch, and
    extrapolates past its ends. Momentum is not cycled: SGD keeps its 0.9.
    """
    shape = dict(epochs=epochs, steps_per_epoch=steps_per_epoch, peak_epoch=peak_epoch, lr_min=lr_min, lr_max=lr_max)
    lr_at(schedule, 0, **shape)  # refuse a bad shape or name now
    for group in optimizer.param_groups:
        group["lr"] = group["initial_lr"] = lr_max  # the base the factor below multiplies

    def factor(step: int) -> float:
        return lr_at(schedule, step, **shape) / lr_max

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def one_cycle(optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int, peak_epoch: int,
              lr_min: float, lr_max: float) -> torch.optim.lr_scheduler.LambdaLR:
    """The recipe's scheduler: ``scheduler(optimizer, "one-cycle", ...)``."""
    return scheduler(optimizer, "one-cycle", epochs=epochs, steps_per_epoch=steps_per_epoch, peak_epoch=peak_epoch,
                     lr_min=lr_min, lr_max=lr_max)


def zigzag_lr(iteration: int | np.ndarray, *, lr_min: float, lr_max: float, step_size: int) -> float | np.ndarray:
    """Smith's triangular cyclic LR: up from lr_min to lr_max in ``step_size`` iterations, then down.

    Period 2*step_size: lr_min at iterations 0, 2s, 4s..., lr_max at s, 3s, 5s....
    """
    cycle = np.floor(1 + np.asarray(iteration) / (2 * step_size))
    x = np.abs(np.asarray(iteration) / step_size - 2 * cycle + 1)
    lr = lr_min + (lr_max - lr_min) * np.maximum(0.0, 1 - x)
    return float(lr) if np.ndim(lr) == 0 else lr


def zigzag_corners(*, lr_min: float, lr_max: float, step_size: int, cycles: int) -> tuple[np.ndarray, np.ndarray]:
    """The zigzag's corners over ``cycles`` cycles: (iterations, LRs), 2*cycles+1 points.

    The curve is straight between its corners, so a line through them draws it exactly, in
    memory that grows with the cycles, not with the iterations.
    """
    iterations = np.arange(2 * cycles + 1, dtype=np.int64) * step_size
    return iterations, zigzag_lr(iterations, lr_min=lr_min, lr_max=lr_max, step_size=step_size)
