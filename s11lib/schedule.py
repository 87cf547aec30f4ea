"""Learning-rate schedules as pure functions of the step, and the optimizer-side scheduler.

Steps are batches, counted from 0: batch ``i`` is trained at ``one_cycle_lr(i, ...)``.
"""

from __future__ import annotations

import numpy as np
import torch


def one_cycle_lr(step: int, *, total_steps: int, peak_step: int, lr_min: float, lr_max: float) -> float:
    """Linear one cycle without annihilation: lr_min -> lr_max at ``peak_step`` -> lr_min at the last step.

    The LR never leaves [lr_min, lr_max]: steps past the end hold lr_min.
    """
    last = total_steps - 1
    step = min(max(step, 0), last)
    if step <= peak_step:
        return lr_min + (lr_max - lr_min) * step / peak_step
    return lr_max + (lr_min - lr_max) * (step - peak_step) / (last - peak_step)


def peak_step(peak_epoch: int, steps_per_epoch: int) -> int:
    """The batch trained at max_lr: the last batch of epoch ``peak_epoch`` (1-based)."""
    return peak_epoch * steps_per_epoch - 1


class OneCycleLR(torch.optim.lr_scheduler.OneCycleLR):
    """torch's OneCycleLR holding its end points instead of extrapolating past them.

    torch interpolates with an unclamped fraction: one ``step()`` after the last batch puts
    the LR below lr_min (negative on short runs), and float rounding of ``pct_start`` can
    overshoot max_lr. Clamping the fraction to 1 keeps the LR in [lr_min, lr_max].
    """

    def _anneal_func(self, start, end, pct):
        return super()._anneal_func(start, end, min(pct, 1.0))


def one_cycle(optimizer: torch.optim.Optimizer, *, epochs: int, steps_per_epoch: int, peak_epoch: int,
              lr_min: float, lr_max: float) -> OneCycleLR:
    """A per-batch one-cycle scheduler that agrees with ``one_cycle_lr`` at every step.

    lr_min = max_lr / div_factor at the start, and final_div_factor=1 ends the cycle at
    lr_min again (no annihilation). Momentum is not cycled: SGD keeps its 0.9.
    """
    return OneCycleLR(
        optimizer,
        max_lr=lr_max,
        total_steps=epochs * steps_per_epoch,
        pct_start=peak_epoch / epochs,
        anneal_strategy="linear",
        div_factor=lr_max / lr_min,
        final_div_factor=1.0,
        cycle_momentum=False,
        three_phase=False,
    )


def zigzag_lr(iteration: int | np.ndarray, *, lr_min: float, lr_max: float, step_size: int) -> float | np.ndarray:
    """Smith's triangular cyclic LR: up from lr_min to lr_max in ``step_size`` iterations, then down.

    Period 2*step_size: lr_min at iterations 0, 2s, 4s..., lr_max at s, 3s, 5s....
    """
    cycle = np.floor(1 + np.asarray(iteration) / (2 * step_size))
    x = np.abs(np.asarray(iteration) / step_size - 2 * cycle + 1)
    lr = lr_min + (lr_max - lr_min) * np.maximum(0.0, 1 - x)
    return float(lr) if np.ndim(lr) == 0 else lr
