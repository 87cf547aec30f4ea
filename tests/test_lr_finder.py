import warnings

import numpy as np
import pytest
import torch
from torch import nn

from s11lib.config import Config
from s11lib.engine import make_optimizer
from s11lib.lr_finder import default_iters, range_test
from s11lib.lr_rules import first_rise, read_curve, smooth
from s11lib.model import ResNet9

LRS = np.logspace(-4, 1, 100)


def bn_curve():
    """Shaped like the H200 range tests: a fall, a blow-up near LR 1, and a recovery at LR 10."""
    x = np.log10(LRS)
    return 2.33 - 0.6 / (1 + np.exp(-(x + 2) * 2.5)) + 0.9 * np.exp(-(((x - 0.05) / 0.25) ** 2))


def test_lrmax_comes_before_the_loss_turns_up_never_from_the_late_recovery():
    rise = first_rise(smooth(bn_curve()))
    edge, cut = read_curve(LRS, bn_curve(), "edge"), read_curve(LRS, bn_curve(), "cut")
    assert edge.lr_max == LRS[rise - 1]  # the default: the last LR before the turn-up
    assert cut.lr_max == LRS[int(np.argmin(smooth(bn_curve())[:rise]))] < edge.lr_max  # its lowest point before it
    for rt in (edge, cut):
        assert 0.05 < rt.lr_max < 0.5
        assert rt.lr_min == pytest.approx(1.45e-3, rel=0.1)
        assert rt.warnings == ()


def test_lrmin_is_where_the_loss_has_fallen_by_a_tenth_of_its_drop():
    losses = np.r_[np.full(10, 2.0), np.linspace(2.0, 1.0, 11)[1:], np.linspace(1.0, 5.0, 10)]
    lrs = np.logspace(-4, 1, len(losses))
    rt = read_curve(lrs, losses, "edge")
    i_min, i_max = list(lrs).index(rt.lr_min), list(lrs).index(rt.lr_max)
    assert rt.smoothed[i_min] <= 2.0 - 0.1 * (2.0 - rt.smoothed[i_max]) < rt.smoothed[i_min - 1]
    assert rt.lr_min < rt.lr_max and rt.warnings == ()


def test_a_test_that_diverges_at_once_says_so_and_is_not_trusted():
    rt = read_curve(LRS[:10], np.linspace(2.3, 20, 10))
    assert "the loss only rose" in rt.note and "turned up at LR 0.000112" in rt.note
    assert rt.lr_max == pytest.approx(LRS[1] / 10) and rt.lr_min == pytest.approx(LRS[1] / 100)
    assert len(rt.warnings) == 1 and "cannot be trusted" in rt.warnings[0] and "--max-lr" in rt.warnings[0]


def test_too_few_points_or_nan_falls_back_with_a_warning():
    rt = read_curve(LRS[:4], [2.3, 2.2, float("nan"), 2.0])
    assert rt.lr_max == pytest.approx(LRS[1]) and rt.lr_min == pytest.approx(LRS[1] / 10)
    assert rt.note.startswith("only 2 usable points") and "cannot be trusted" in rt.warnings[0]


def test_a_loss_that_falls_to_the_sweeps_end_never_gives_the_end_as_lrmax():
    """The failure behind two 74.8% H200 runs: no turn-up, so the minimum is just the last LR."""
    losses = 2.3 - 0.4 * np.log10(LRS / LRS[0])  # falls all the way to LR 10
    rt = read_curve(LRS, losses)
    assert rt.lr_max <= LRS[-1] / 10
    assert "without turning up" in rt.note
    assert any("cannot be trusted" in w for w in rt.warnings)
    assert rt.lr_min < rt.lr_max


def test_a_flat_curve_is_called_flat_not_diverged():
    losses = 2.30 + 0.003 * np.sin(np.arange(40))  # tiny data, few batches: the loss does not move
    lrs = np.logspace(-4, 1, 40)
    rt = read_curve(lrs, losses)
    assert "stayed flat" in rt.note and "rose" not in rt.note
    assert rt.lr_max == pytest.approx(lrs[-1] / 10) and rt.lr_min == pytest.approx(lrs[-1] / 100)
    assert "cannot be trusted" in rt.warnings[0]
    flat_then_up = np.r_[np.full(30, 2.3), np.linspace(2.3, 9, 10)]
    rt = read_curve(lrs, flat_then_up)
    assert "stayed flat" in rt.note and "turned up at LR" in rt.note and rt.warnings


def test_a_pair_far_apart_or_at_the_sweeps_start_is_flagged():
    lrs = np.logspace(-4, 1, 50)
    # falls at once, then slowly for three more decades before turning up
    losses = np.r_[2.3, np.linspace(1.2, 1.0, 34), np.linspace(1.0, 6.0, 15)]
    rt = read_curve(lrs, losses)
    assert rt.lr_max / rt.lr_min > 500
    assert any("sweep's start" in w for w in rt.warnings)
    assert any("more than 500x" in w for w in rt.warnings)


def test_smooth_is_centred_and_keeps_a_line_straight():
    line = np.arange(20.0)
    np.testing.assert_allclose(smooth(line)[1:-1], line[1:-1])


def test_default_iters_is_sized_to_the_data():
    assert default_iters(4) == 20 and default_iters(16) == 32 and default_iters(98) == 100


def test_range_test_restores_the_model_and_optimizer_and_orders_the_lrs():
    torch.manual_seed(0)
    model = ResNet9()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = make_optimizer(model, Config(), lr=0.123)
    x, y = torch.randn(16, 3, 32, 32), torch.arange(16) % 10
    loader = [(x[:8], y[:8]), (x[8:], y[8:])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = range_test(model, optimizer, nn.CrossEntropyLoss(), loader, torch.device("cpu"),
                            start_lr=1e-4, end_lr=1.0, num_iter=8)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert optimizer.param_groups[0]["lr"] == 0.123
    assert not optimizer.state  # no momentum buffers left behind
    assert len(result.lrs) == len(result.losses) == 8
    assert 0 < result.lr_min < result.lr_max
