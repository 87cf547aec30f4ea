"""The rules that read LRMIN and LRMAX off a range test's curve, on shapes whose answers are known,
and the default rule on the curves recorded on the full offline data (bench/results/)."""

import json
from pathlib import Path

import numpy as np
import pytest

from s11lib.config import LR_RULES
from s11lib.lr_rules import RULES, RangeTest, median_pair, read_curve

LRS = np.logspace(-4, 1, 101)  # 20 points a decade
X = np.log10(LRS)
RECORDED = sorted((Path(__file__).resolve().parents[1] / "bench" / "results").glob("range-curves-*/seed-*.json"))


def valley_curve():
    """Flat at 2.3 up to LR 1e-3, a straight fall (in log LR) to 1.0 at LR 1e-2, a flat floor up
    to LR 0.3, then a climb: the shape of the real curves, without their noise."""
    return np.interp(X, [-4, -3, -2, np.log10(0.3), 1], [2.3, 2.3, 1.0, 1.0, 6.0])


def test_the_config_offers_every_rule():
    assert tuple(RULES) == LR_RULES


@pytest.mark.parametrize("rule, low, high", [
    ("diverge", 0.3, 0.42),  # half the LR at which the climb is back at 2.3 (0.75, a little earlier once smoothed)
    ("edge", 0.25, 0.55),  # the last LR before the climb is clear, a step below turning
    ("cut", 0.01, 0.2),  # somewhere on the flat floor: where exactly is noise
    ("turning", 0.3, 0.6),  # just past the floor's end
    ("steepest", 1e-3, 1.1e-2),  # on the fall
    ("valley", 1e-3, 0.03),  # two thirds down the fall, which its lagging average stretches onto the floor
    ("minimum", 0.01, 0.06),  # a tenth of the lagging average's lowest point
])
def test_each_rule_reads_lrmax_where_it_says_on_a_known_shape(rule, low, high):
    rt = read_curve(LRS, valley_curve(), rule)
    assert low <= rt.lr_max <= high, rt.lr_max
    assert rt.trusted and rt.rule == rule and "turned up at LR" in rt.note


def test_diverge_edge_and_cut_take_lrmin_where_the_loss_starts_to_fall_the_others_a_decade_below_lrmax():
    for rule in ("diverge", "edge", "cut"):
        rt = read_curve(LRS, valley_curve(), rule)
        i = list(LRS).index(rt.lr_min)
        drop = rt.smoothed[0] - np.nanmin(rt.smoothed[:80])
        assert rt.smoothed[i] <= 2.3 - 0.1 * drop < rt.smoothed[i - 1]
        assert 1e-3 < rt.lr_min < 2e-3
    for rule in ("turning", "steepest", "valley", "minimum"):
        rt = read_curve(LRS, valley_curve(), rule)
        assert rt.lr_min == pytest.approx(rt.lr_max / 10)


def test_a_transient_bump_on_the_floor_moves_the_edge_but_not_the_divergence():
    """As the CPU curve of seed 4: a few batches jump up, the loss comes back to the floor, then diverges."""
    bump = valley_curve() + 1.0 * np.exp(-(((X - np.log10(0.05)) / 0.15) ** 2))  # up to 2.0, below the start
    calm, bumped = read_curve(LRS, valley_curve()), read_curve(LRS, bump)
    assert bumped.lr_max == calm.lr_max and "diverged" in bumped.note
    assert read_curve(LRS, bump, "edge").lr_max < 0.1 < read_curve(LRS, valley_curve(), "edge").lr_max


def test_a_curve_that_never_climbs_back_to_its_start_reads_diverge_as_the_edge():
    curve = np.interp(X, [-4, -3, -2, np.log10(0.3), 1], [2.3, 2.3, 1.0, 1.0, 2.0])  # turns up, never back to 2.3
    rt = read_curve(LRS, curve)
    assert rt.lr_max == read_curve(LRS, curve, "edge").lr_max and "never climbed back to its start" in rt.note


def test_edge_is_the_far_end_of_the_floor_not_its_lowest_point():
    """A floor tilted slightly downhill, then up: the lowest point moves with the tilt, the far edge does not."""
    for tilt in (-0.02, 0.0, 0.02):
        curve = valley_curve() + np.where((X > -2) & (X < np.log10(0.3)), tilt * (X + 2), 0)
        rt = read_curve(LRS, curve, "edge")
        assert 0.25 <= rt.lr_max <= 0.55
        assert read_curve(LRS, curve, "cut").lr_max < 0.2 if tilt >= 0 else True


def test_a_sweep_cut_short_by_nan_says_so_and_is_read_up_to_the_nan():
    losses = np.r_[valley_curve()[:70], np.full(31, np.nan)]  # NaN from LR 0.32 on, before any rise
    rt = read_curve(LRS, losses, "edge")
    assert "the loss became NaN at LR 0.316" in rt.note
    assert "sweep's end" not in rt.note
    assert rt.trusted and rt.lr_max < 0.32
    assert read_curve(LRS, losses).lr_max == pytest.approx(0.316 / 2, rel=0.01)  # NaN is divergence


def test_a_flat_curve_is_untrusted_under_every_rule():
    flat = 2.30 + 0.003 * np.sin(np.arange(len(LRS)))
    for rule in RULES:
        rt = read_curve(LRS, flat, rule)
        assert not rt.trusted and "stayed flat" in rt.note and "cannot be trusted" in rt.warnings[0]


def fake(lr_min: float, lr_max: float, seed: int, trusted: bool = True) -> RangeTest:
    return RangeTest(LRS, valley_curve(), valley_curve(), lr_min, lr_max, "note", trusted,
                     () if trusted else ("cannot be trusted",), "diverge", seed)


def test_the_median_of_several_tests_takes_each_lr_s_median_and_warns_on_a_wide_spread():
    search = median_pair([fake(0.001, 0.2, 1), fake(0.004, 0.25, 2), fake(0.002, 0.3, 3)])
    assert (search.lr_min, search.lr_max) == (pytest.approx(0.002), pytest.approx(0.25))
    assert search.trusted and search.warnings == () and "median of 3" in search.note
    even = median_pair([fake(0.001, 0.1, 1), fake(0.004, 0.4, 2)])  # LRs live on a log scale: geometric mean
    assert (even.lr_min, even.lr_max) == (pytest.approx(0.002), pytest.approx(0.2))
    assert any("differ by 4.0x" in w for w in even.warnings)
    bad = median_pair([fake(0.001, 0.2, 1), fake(0.004, 0.25, 2, trusted=False)])
    assert not bad.trusted and "seed 2 could not be read" in bad.note


def test_the_default_rule_reads_the_recorded_curves_into_the_region_that_trains_well():
    """bench/RESULTS.md: on the H200, LRMAX 0.15-0.4 gave 90.7-90.9%, 0.07 gave 90.0-90.2%, 10 gave 74.8%.
    The five recorded full-size curves are part of the repository: a move or a loss fails here, never skips."""
    assert [p.relative_to(RECORDED[0].parents[2]).as_posix() for p in RECORDED] == [
        f"results/range-curves-cpu/seed-{s}.json" for s in range(1, 6)]
    tests = [read_curve(c["lrs"], c["losses"]) for c in (json.loads(p.read_text()) for p in RECORDED)]
    maxes = [t.lr_max for t in tests]
    assert all(t.trusted for t in tests)
    assert all(0.12 <= m <= 0.6 for m in maxes), maxes
    assert max(maxes) / min(maxes) <= 2.0, maxes
