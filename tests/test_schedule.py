import numpy as np
import pytest
import torch

from s11lib.schedule import one_cycle, one_cycle_lr, peak_step, zigzag_lr

LR_MIN, LR_MAX, EPOCHS, PEAK, STEPS = 0.004, 0.4, 24, 5, 98  # 98 batches of 512 = one CIFAR-10 epoch


def scheduled_lrs(steps_per_epoch=STEPS, epochs=EPOCHS, peak=PEAK):
    """The LR each batch gets from the optimizer side, plus the LR left after the last step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=123.0, momentum=0.9, nesterov=True)
    sched = one_cycle(opt, epochs=epochs, steps_per_epoch=steps_per_epoch, peak_epoch=peak, lr_min=LR_MIN, lr_max=LR_MAX)
    lrs = []
    for _ in range(epochs * steps_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return np.array(lrs), opt.param_groups[0]


def test_one_cycle_starts_at_min_peaks_at_end_of_epoch_5_and_ends_at_min():
    lrs, _ = scheduled_lrs()
    assert len(lrs) == 24 * 98
    assert lrs[0] == pytest.approx(LR_MIN)
    assert lrs[5 * 98 - 1] == pytest.approx(LR_MAX)  # last batch of epoch 5
    assert int(np.argmax(lrs)) == 5 * 98 - 1
    assert lrs[-1] == pytest.approx(LR_MIN)


def test_no_annihilation_lr_never_leaves_the_range_even_after_the_last_step():
    lrs, group = scheduled_lrs(steps_per_epoch=7, epochs=2, peak=1)  # torch's own OneCycleLR goes negative here
    assert lrs.min() >= LR_MIN * (1 - 1e-12) and lrs.max() <= LR_MAX * (1 + 1e-12)
    assert group["lr"] == pytest.approx(LR_MIN)
    assert group["momentum"] == 0.9  # not cycled


def test_scheduler_agrees_with_the_pure_function_at_every_step():
    lrs, _ = scheduled_lrs()
    pure = [one_cycle_lr(i, total_steps=EPOCHS * STEPS, peak_step=peak_step(PEAK, STEPS), lr_min=LR_MIN, lr_max=LR_MAX)
            for i in range(EPOCHS * STEPS)]
    np.testing.assert_allclose(lrs, pure, rtol=1e-9)


def test_one_cycle_is_linear_on_both_sides():
    kw = dict(total_steps=11, peak_step=4, lr_min=1.0, lr_max=5.0)
    assert [one_cycle_lr(i, **kw) for i in range(11)] == pytest.approx([1, 2, 3, 4, 5, 4.333333, 3.666667, 3, 2.333333, 1.666667, 1])
    assert one_cycle_lr(50, **kw) == 1.0 and one_cycle_lr(-3, **kw) == 1.0


def test_zigzag_values_at_known_iterations():
    kw = dict(lr_min=0.01, lr_max=0.11, step_size=10)
    assert zigzag_lr(0, **kw) == pytest.approx(0.01)
    assert zigzag_lr(5, **kw) == pytest.approx(0.06)
    assert zigzag_lr(10, **kw) == pytest.approx(0.11)
    assert zigzag_lr(15, **kw) == pytest.approx(0.06)
    assert zigzag_lr(20, **kw) == pytest.approx(0.01)
    assert zigzag_lr(30, **kw) == pytest.approx(0.11)
    np.testing.assert_allclose(zigzag_lr(np.array([0, 10, 20, 25]), **kw), [0.01, 0.11, 0.01, 0.06])


@pytest.mark.parametrize("steps", [1, 2, 3])
@pytest.mark.parametrize("epochs, peak", [(2, 1), (3, 1), (3, 2)])
def test_any_length_keeps_the_shape(steps, epochs, peak):
    """Any length keeps the cycle's shape, one batch an epoch too (torch's OneCycleLR divides by zero there)."""
    lrs, group = scheduled_lrs(steps_per_epoch=steps, epochs=epochs, peak=peak)
    top = peak * steps - 1  # the last batch of the peak epoch
    assert lrs[top] == pytest.approx(LR_MAX) and int(np.argmax(lrs)) == top
    assert lrs[-1] == pytest.approx(LR_MIN) and group["lr"] == pytest.approx(LR_MIN)
    if top > 0:
        assert lrs[0] == pytest.approx(LR_MIN)
        assert (np.diff(lrs[: top + 1]) > 0).all()
    assert (np.diff(lrs[top:]) < 0).all()
    assert lrs.min() >= LR_MIN * (1 - 1e-12) and lrs.max() <= LR_MAX * (1 + 1e-12)


def test_one_batch_an_epoch_with_the_peak_at_epoch_1_starts_at_the_peak():
    kw = dict(total_steps=3, peak_step=0, lr_min=0.01, lr_max=0.1)
    assert [one_cycle_lr(i, **kw) for i in range(3)] == pytest.approx([0.1, 0.055, 0.01])


def test_a_peak_at_or_after_the_last_step_is_refused():
    with pytest.raises(ValueError, match="peak_step"):
        one_cycle_lr(0, total_steps=4, peak_step=3, lr_min=0.01, lr_max=0.1)


def optimizer_lrs(schedule: str, epochs: int, steps_per_epoch: int, peak: int) -> list[float]:
    """The LR of every batch as the optimizer gets it from ``schedule.scheduler``."""
    from s11lib.schedule import scheduler

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=123.0)
    sched = scheduler(opt, schedule, epochs=epochs, steps_per_epoch=steps_per_epoch, peak_epoch=peak, lr_min=LR_MIN,
                      lr_max=LR_MAX)
    lrs = []
    for _ in range(epochs * steps_per_epoch):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


def test_the_step_schedule_is_max_then_a_tenth_from_half_then_a_hundredth_from_three_quarters():
    lrs = optimizer_lrs("step", epochs=4, steps_per_epoch=3, peak=1)  # 12 batches: 6 + 3 + 3
    assert lrs == pytest.approx([0.4] * 6 + [0.04] * 3 + [0.004] * 3)
    full = optimizer_lrs("step", epochs=24, steps_per_epoch=98, peak=5)  # 12, 6 and 6 epochs
    assert full[12 * 98 - 1] == pytest.approx(0.4) and full[12 * 98] == pytest.approx(0.04)
    assert full[18 * 98 - 1] == pytest.approx(0.04) and full[18 * 98] == pytest.approx(0.004) == full[-1]


def test_the_constant_schedule_is_max_lr_at_every_step_and_the_one_cycle_is_unchanged():
    assert optimizer_lrs("constant", epochs=3, steps_per_epoch=2, peak=1) == pytest.approx([0.4] * 6)
    lrs, _ = scheduled_lrs(steps_per_epoch=3, epochs=4, peak=1)
    assert optimizer_lrs("one-cycle", epochs=4, steps_per_epoch=3, peak=1) == pytest.approx(list(lrs))


@pytest.mark.parametrize("schedule", ["one-cycle", "step", "constant"])
def test_every_schedule_s_scheduler_agrees_with_its_pure_function_at_every_step(schedule):
    from s11lib.schedule import lr_at

    lrs = optimizer_lrs(schedule, epochs=5, steps_per_epoch=7, peak=2)
    pure = [lr_at(schedule, i, epochs=5, steps_per_epoch=7, peak_epoch=2, lr_min=LR_MIN, lr_max=LR_MAX)
            for i in range(35)]
    assert lrs == pytest.approx(pure, rel=1e-12)


def test_other_lengths_peak_at_the_recipes_fraction_unless_told():
    from s11lib.config import SCHEDULES, Config
    from s11lib.schedule import SCHEDULES as PURE

    assert [Config(epochs=e).peak for e in (2, 3, 6, 12, 24, 48)] == [1, 1, 1, 3, 5, 10]
    assert Config(epochs=12, peak_epoch=7).peak == 7 and SCHEDULES == PURE


def test_pages_schedule_starts_at_zero_peaks_at_epoch_5_and_ends_at_zero():
    """A given LRMIN of 0 is Page's own schedule, 0 -> 0.4 -> 0, through the optimizer as well as the pure function."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9, nesterov=True)
    sched = one_cycle(opt, epochs=EPOCHS, steps_per_epoch=STEPS, peak_epoch=PEAK, lr_min=0.0, lr_max=0.4)
    lrs = []
    for _ in range(EPOCHS * STEPS):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == 0.0 and lrs[-1] == 0.0 and opt.param_groups[0]["lr"] == 0.0
    assert lrs[5 * STEPS - 1] == pytest.approx(0.4) and max(lrs) == pytest.approx(0.4)
    assert lrs[5 * STEPS - 1 + (19 * STEPS) // 2] == pytest.approx(0.2, rel=0.01)  # halfway down, half the peak
