"""Rules that read LRMIN and LRMAX off an LR range test's curve: pure functions of (lrs, losses).

Every rule shares one reading of the curve's *shape* (``read_curve``): the raw per-batch
losses are smoothed with a centred moving average (no lag, unlike an exponential average,
which shifts the curve to higher LRs), the sweep is cut where the smoothed loss first
rises clearly above its running minimum (``first_rise``) or turns NaN, and a curve that
cannot answer (too few points, flat, or falling to the sweep's end) gives a fallback pair
that is marked untrusted, whatever the rule. On a healthy curve (it fell, then turned up)
each rule reads its own pair (docs/lr-range-test.md; the rules side by side on real curves are in
bench/RESULTS.md):

* ``diverge`` (default): LRMIN where the loss starts to fall (it has fallen by
  ``FALL_FRACTION`` of its drop); LRMAX half the LR at which the sweep diverges, where the
  smoothed loss has climbed all the way back to its starting value (or became NaN): Bengio's
  rule that the best LR is within a factor of 2 of the largest that does not diverge
  (2012, sec. 3.1.1), and Smith's reading of the test's upper end, where the loss
  "explodes" (2018, sec. 4.1). Divergence is the curve's sharpest, most repeatable feature;
  its lowest point and its first small rise are not: a noisy valley floor moves the one,
  a transient bump the other (bench/RESULTS.md section 5).
* ``edge``: the valley's far edge, the last LR before the loss turns up (climbs back a
  quarter of its drop, ``first_rise``); LRMIN as diverge.
* ``cut``: LRMAX at the lowest point of the smoothed loss before it turns up; LRMIN as edge.
* ``turning``: Smith's turning point, LRMAX where the loss turns up; LRMIN = LRMAX / 10.
* ``steepest``: torch-lr-finder's suggestion, LRMAX at the steepest fall of its
  exponentially smoothed loss; LRMIN = LRMAX / 10.
* ``valley``: fastai's suggestion, two thirds of the way down the longest falling stretch of
  its smoothed loss; LRMIN = LRMAX / 10.
* ``minimum``: fastai's "minimum / 10": a tenth of the LR at the lowest smoothed loss;
  LRMIN = LRMAX / 10.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from . import voice
from .config import MIN_FINDER_ITERS

MIN_POINTS = MIN_FINDER_ITERS  # fewer usable points give no curve to read
FALL_FRACTION = 0.10  # LRMIN: where the loss has fallen by this share of its total drop
FALLBACK_DIV = 10.0  # LRMIN = LRMAX / this when a rule or the curve says no more; also a decade below a turn-up
DIVERGE_DIV = 2.0  # diverge: LRMAX = the LR at which the loss is back at its start / this (Bengio, 2012)
RISE_OF_DROP = 0.25  # the curve is cut where the loss rises this share of its drop so far above its minimum...
RISE_OF_START = 0.05  # ...or this share of the starting loss, whichever is larger (ignores early noise)
FLAT_OF_START = 0.05  # a curve whose loss never fell by this share of its start is flat: nothing to read
MAX_SPAN = 500.0  # LRMAX / LRMIN above this is suspect (0.004 / 0.4 spans 100, the CPU curves 130-150 with edge)
SPREAD_WARN = 2.0  # several range tests whose LRMAX differ by more than this factor earn a warning
LIBRARY_SMOOTH = 0.05  # torch-lr-finder's default smooth_f (exponential smoothing), for the steepest rule
FASTAI_BETA = 0.98  # fastai's Recorder smooths the loss with this beta (debiased), for valley and minimum
PAGES_PEAK = "0.004 and 0.4 train this net: Page's peak, 0.4, and a hundredth of it"


def trust_hint() -> str:
    """What to do about a pair that cannot be trusted, in the reader's words (``voice``)."""
    return f"{voice.say('pair')} ({PAGES_PEAK})"


@dataclass(frozen=True)
class RangeTest:
    """One range test's curve and the pair read off it."""

    lrs: np.ndarray  # LR of each batch of the test
    losses: np.ndarray  # raw training loss of each batch
    smoothed: np.ndarray  # centred moving average of ``losses`` (NaN past the first non-finite loss)
    lr_min: float
    lr_max: float
    note: str  # what the curve showed and how lr_min and lr_max were picked
    trusted: bool = True  # False: the curve could not answer and the pair is a fallback
    warnings: tuple[str, ...] = ()  # why the pair cannot be trusted, or looks doubtful; empty when it is fine
    rule: str = "diverge"
    seed: int | None = None


@dataclass(frozen=True)
class Shape:
    """What every rule sees of a healthy curve."""

    lrs: np.ndarray  # the usable LRs (before the first non-finite loss)
    losses: np.ndarray  # the usable raw losses
    curve: np.ndarray  # their centred moving average
    cut: int  # index of the first clear rise (or of the first NaN); the valley is curve[:cut]
    lr_start_fall: float  # LRMIN of the diverge, edge and cut rules: where the loss has fallen by FALL_FRACTION of its drop
    lr_diverged: float | None  # the first LR past the valley where the loss is back at its start, or NaN; None if never


# A rule: Shape -> (lr_min, lr_max, how it read them).
Rule = Callable[[Shape], tuple[float, float, str]]


def smooth(losses: np.ndarray, window: int | None = None) -> np.ndarray:
    """Centred moving average; the window (odd, >= 3 points, ~1/10 of the curve) shrinks at the ends."""
    n = len(losses)
    if n == 0:
        return np.asarray(losses, dtype=float).copy()
    w = window or max(3, n // 10)
    half = w // 2
    csum = np.concatenate([[0.0], np.cumsum(losses)])
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    return (csum[hi] - csum[lo]) / (hi - lo)


def exp_smooth(losses: np.ndarray, beta: float, *, debias: bool) -> np.ndarray:
    """Exponential moving average as the libraries keep it (lagging; debiased as fastai does)."""
    out, avg = np.empty(len(losses)), 0.0 if debias else float(losses[0])
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out[i] = avg / (1 - beta ** (i + 1)) if debias else avg
    return out


def first_rise(smoothed: np.ndarray) -> int:
    """Index of the first point that rises clearly above the running minimum (len if none)."""
    run_min = np.minimum.accumulate(smoothed)
    threshold = np.maximum(RISE_OF_DROP * (smoothed[0] - run_min), RISE_OF_START * abs(smoothed[0]))
    rises = np.flatnonzero(smoothed - run_min > threshold)
    return int(rises[0]) if len(rises) else len(smoothed)


# ---------------------------------------------------------------------------------------
# The rules, on a healthy curve


def diverge(s: Shape) -> tuple[float, float, str]:
    if s.lr_diverged is None:
        lr_min, lr_max, how = edge(s)
        return lr_min, lr_max, f"the loss never climbed back to its start: {how}"
    return s.lr_start_fall, s.lr_diverged / DIVERGE_DIV, (f"LRMAX half the LR at which it diverged ({s.lr_diverged:.3g}: "
                                                          "back at its starting loss), LRMIN where the loss has fallen "
                                                          f"by {FALL_FRACTION:.0%} of its drop")


def edge(s: Shape) -> tuple[float, float, str]:
    return s.lr_start_fall, float(s.lrs[s.cut - 1]), (f"LRMAX at the valley's far edge (the last LR before it turns "
                                                      f"up), LRMIN where the loss has fallen by {FALL_FRACTION:.0%} "
                                                      "of its drop")


def cut(s: Shape) -> tuple[float, float, str]:
    i_max = int(np.argmin(s.curve[: s.cut]))
    return s.lr_start_fall, float(s.lrs[i_max]), (f"LRMAX at the smoothed loss minimum before it turns up, LRMIN "
                                                  f"where it has fallen by {FALL_FRACTION:.0%} of its drop")


def turning(s: Shape) -> tuple[float, float, str]:
    lr_max = float(s.lrs[min(s.cut, len(s.lrs) - 1)])
    return lr_max / FALLBACK_DIV, lr_max, f"LRMAX where the loss turns up, LRMIN = LRMAX/{FALLBACK_DIV:g}"


def steepest(s: Shape, skip_start: int = 10, skip_end: int = 5) -> tuple[float, float, str]:
    """As ``LRFinder.plot(suggest_lr=True)``: the steepest gradient of its smoothed loss, ends skipped."""
    curve = exp_smooth(s.losses, 1 - LIBRARY_SMOOTH, debias=False)
    lo, hi = (skip_start, len(curve) - skip_end) if len(curve) > skip_start + skip_end + 1 else (0, len(curve))
    lr_max = float(s.lrs[lo + int(np.argmin(np.gradient(curve[lo:hi])))])
    return lr_max / FALLBACK_DIV, lr_max, f"LRMAX at the steepest fall (torch-lr-finder), LRMIN = LRMAX/{FALLBACK_DIV:g}"


def valley(s: Shape) -> tuple[float, float, str]:
    """fastai's ``valley``: the longest decreasing subsequence of the smoothed loss, 2/3 of the way down."""
    losses = exp_smooth(s.losses, FASTAI_BETA, debias=True)
    n = len(losses)
    lds, max_start, max_end = [1] * n, 0, 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and lds[i] < lds[j] + 1:
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end, max_start = i, i - lds[i]
    sections = (max_end - max_start) / 3
    lr_max = float(s.lrs[max_start + int(sections) + int(sections / 2)])
    return lr_max / FALLBACK_DIV, lr_max, f"LRMAX at fastai's valley, LRMIN = LRMAX/{FALLBACK_DIV:g}"


def minimum(s: Shape) -> tuple[float, float, str]:
    losses = exp_smooth(s.losses, FASTAI_BETA, debias=True)
    lr_max = float(s.lrs[int(np.argmin(losses))]) / FALLBACK_DIV
    return lr_max / FALLBACK_DIV, lr_max, (f"LRMAX a tenth of the LR at the lowest loss (fastai), "
                                           f"LRMIN = LRMAX/{FALLBACK_DIV:g}")


RULES: dict[str, Rule] = {"diverge": diverge, "edge": edge, "cut": cut, "turning": turning, "steepest": steepest, "valley": valley,
                          "minimum": minimum}


# ---------------------------------------------------------------------------------------
# Reading a curve


def read_curve(lrs: Sequence[float], losses: Sequence[float], rule: str = "diverge") -> RangeTest:
    """Read LRMIN and LRMAX off a range test's curve with ``rule``, saying what the curve showed."""
    lrs, losses = np.asarray(lrs, dtype=float), np.asarray(losses, dtype=float)
    if rule not in RULES:
        raise ValueError(f"unknown LR rule {rule!r}; one of {', '.join(RULES)}")
    finite = np.isfinite(losses)
    usable = len(losses) if finite.all() else int(np.argmin(finite))
    smoothed = np.full(len(losses), np.nan)
    smoothed[:usable] = smooth(losses[:usable])

    def result(lr_min: float, lr_max: float, note: str, *, trusted: bool, doubts: tuple[str, ...] = ()) -> RangeTest:
        distrust = () if trusted else (f"{note}; this LRMIN/LRMAX pair cannot be trusted: {trust_hint()}",)
        return RangeTest(lrs, losses, smoothed, float(lr_min), float(lr_max), note, trusted, distrust + doubts, rule)

    went_nan = f"; the loss became NaN at LR {lrs[usable]:.3g}" if usable < len(losses) else ""
    if usable < MIN_POINTS:
        lr_max = lrs[np.argmin(losses[:usable])] if usable else lrs[0]
        return result(lr_max / FALLBACK_DIV, lr_max, f"only {usable} usable points (fewer than {MIN_POINTS})"
                      f"{went_nan}; LRMAX = LR of the lowest loss, LRMIN = LRMAX/{FALLBACK_DIV:g}", trusted=False)
    curve = smoothed[:usable]
    rise = first_rise(curve)
    start, fell = curve[0], curve[0] - curve[:rise].min()
    if fell < FLAT_OF_START * abs(start):
        if rise < usable or went_nan:
            turn = lrs[min(rise, usable)]
            lr_max = turn / FALLBACK_DIV
            shape = "only rose" if rise <= 1 or fell <= 0 else "stayed flat"
            showed = f"the loss {shape} (fell {fell / abs(start):.1%} at most) and turned up at LR {turn:.3g}{went_nan}"
        else:
            lr_max = lrs[usable - 1] / FALLBACK_DIV
            showed = f"the loss stayed flat over the whole sweep (fell {fell / abs(start):.1%} at most)"
        return result(lr_max / FALLBACK_DIV, lr_max, f"{showed}; LRMAX a decade below that, LRMIN = "
                      f"LRMAX/{FALLBACK_DIV:g}", trusted=False)
    if rise == usable and not went_nan:  # fell to the sweep's end: its minimum is the sweep's end, not a limit of the net
        below_end = np.flatnonzero(lrs[:usable] <= lrs[usable - 1] / FALLBACK_DIV)
        slope = np.gradient(curve, np.log(lrs[:usable]))
        lr_max = lrs[int(below_end[np.argmin(slope[below_end])]) if len(below_end) else 0]
        return result(lr_max / FALLBACK_DIV, lr_max, f"the loss fell to the sweep's end (LR {lrs[usable - 1]:.3g}) "
                      f"without turning up; LRMAX at its steepest fall, at least a decade below the end, LRMIN = "
                      f"LRMAX/{FALLBACK_DIV:g}", trusted=False)
    i_floor = int(np.argmin(curve[:rise]))
    i_start = int(np.argmax(curve[:rise] <= start - FALL_FRACTION * (start - curve[i_floor])))
    back = np.flatnonzero(curve[i_floor:] >= start)
    lr_diverged = float(lrs[i_floor + back[0]]) if len(back) else float(lrs[usable]) if went_nan else None
    shape = Shape(lrs[:usable], losses[:usable], curve, rise, float(lrs[i_start]), lr_diverged)
    lr_min, lr_max, how = RULES[rule](shape)
    turned = f"the loss turned up at LR {lrs[rise]:.3g}" if rise < usable else went_nan.removeprefix("; ")
    note = f"{turned}; {how}"
    if lr_min >= lr_max:
        lr_min = lr_max / FALLBACK_DIV
        note += f"; no earlier fall, so LRMIN = LRMAX/{FALLBACK_DIV:g}"
    doubts = []
    if lr_min <= lrs[1]:
        doubts.append(f"LRMIN {lr_min:.3g} is at the sweep's start: the loss was already falling there, so LRMIN "
                      f"may be lower than the curve shows (lower {voice.setting('finder_start_lr')}, or {trust_hint()})")
    if lr_max / lr_min > MAX_SPAN:
        doubts.append(f"LRMAX {lr_max:.3g} is {lr_max / lr_min:.0f}x LRMIN {lr_min:.3g}, more than "
                      f"{MAX_SPAN:g}x: the curve is probably too short or too noisy ({trust_hint()})")
    return result(lr_min, lr_max, note, trusted=True, doubts=tuple(doubts))


@dataclass(frozen=True)
class LRSearch:
    """One or several range tests (one seed each) and the pair a run trains at: their median."""

    tests: tuple[RangeTest, ...]
    lr_min: float
    lr_max: float
    trusted: bool  # every test could be read
    note: str
    warnings: tuple[str, ...]
    seconds: float = 0.0  # how long the test(s) took (a test read back from its file keeps its own)


class FoundLR(float):
    """An LR a range test found: a float (for every use of one) that remembers the test and the config it
    was chosen for, so that a pair says where it came from in whichever cell it travels to; a typed LR is
    a plain float."""

    search: LRSearch
    cfg: object  # the Config the pair was chosen for (``range_tests.choose_lrs``)

    def __new__(cls, value: float, search: LRSearch, cfg=None) -> FoundLR:
        lr = super().__new__(cls, value)
        lr.search, lr.cfg = search, cfg
        return lr

    def __reduce__(self):  # pickled (a Ray task, a notebook's saved variables) as the number it is
        return float, (float(self),)


def median_pair(tests: Sequence[RangeTest]) -> LRSearch:
    """The median LRMIN and the median LRMAX of ``tests`` (geometric mean of the middle two for an
    even count, as LRs live on a log scale), with a warning when their LRMAX differ by more
    than ``SPREAD_WARN`` times."""
    if not tests:
        raise ValueError("median_pair needs at least one range test")
    if len(tests) == 1:
        t = tests[0]
        return LRSearch(tuple(tests), t.lr_min, t.lr_max, t.trusted, t.note, t.warnings)
    lr_min = float(np.exp(np.median(np.log([t.lr_min for t in tests]))))
    lr_max = float(np.exp(np.median(np.log([t.lr_max for t in tests]))))
    maxes = [t.lr_max for t in tests]
    label = [f"seed {t.seed}" if t.seed is not None else f"test {i + 1}" for i, t in enumerate(tests)]
    warnings = [f"{who}: {w}" for who, t in zip(label, tests) for w in t.warnings]
    if max(maxes) / min(maxes) > SPREAD_WARN:
        warnings.append(f"the {len(tests)} range tests' LRMAX differ by {max(maxes) / min(maxes):.1f}x "
                        f"({', '.join(f'{m:.3g}' for m in maxes)}), more than {SPREAD_WARN:g}x: the median "
                        f"{lr_max:.3g} is a compromise between curves that disagree")
    trusted = all(t.trusted for t in tests)
    untrusted = [who for who, t in zip(label, tests) if not t.trusted]
    note = (f"median of {len(tests)} range tests ({tests[0].rule} rule)" +
            (f"; {', '.join(untrusted)} could not be read" if untrusted else ""))
    return LRSearch(tuple(tests), lr_min, lr_max, trusted, note, tuple(warnings))
