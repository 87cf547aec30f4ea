"""The plan of a sweep: the grid of schedules x LRMAX x epochs (x seeds) beside the pair the LR range
test finds, every point checked before any work, and the settings that two runs into one OUT share.

    points = plan(base, max_lrs, schedules, epochs, seeds=3)   # every point's config, checked, and the size

A point is the train job's config: its folder, ``OUT/<schedule>-e<epochs>-lr<max_lr>/seed-S/``, is a run
folder like any other (``sweep_run``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from .config import PLACE_FIELDS, Config, ConfigError, check_seeds
from .outputs import read_record

PRESET = {"max_lr": (0.05, 0.1, 0.2, 0.4, 0.8, 1.6), "schedule": ("one-cycle", "step"), "epochs": (24,)}
MIN_LR_DIV = 100.0  # a grid point's LRMIN is LRMAX / 100 (0.004 at Page's peak 0.4) unless --min-lr is given
# More runs than this is a typo until said otherwise (--max-runs): docs/cluster.md's largest sweep, 120 runs of ten seeds, is
# half an hour on one H200; 1,000 runs of 24 epochs are some 4 H200-hours (15 s a run) and months on a 2-core CPU.
MAX_RUNS = 1000
GRID_FIELDS = ("max_lr", "schedule", "epochs", "peak_epoch")  # the grid's own: between runs of one OUT they may change
FOUND = "found"  # the name part of a point trained at the range test's pair


@dataclass(frozen=True)
class Point:
    """One grid point: its config (the first seed's) and whether its LRs are the range test's."""

    cfg: Config
    found: bool = False

    @property
    def name(self) -> str:
        lr = FOUND if self.found else f"lr{self.cfg.max_lr:g}"
        return f"{self.cfg.schedule}-e{self.cfg.epochs}-{lr}"


def clean(lr: float) -> float:
    """An LR as it prints: LRMAX / 100 is 0.001, not 0.0009999999999999998."""
    return float(f"{lr:.10g}")


def grid_points(base: Config, max_lrs, schedules, epochs, *, min_lr: float | None = None,
                peak_epoch: int | None = None) -> list[Point]:
    """Every (schedule, epochs, LRMAX) point; each config is checked here, before any work.

    Raises:
        ConfigError: a point that cannot run (a non-positive LR, a peak epoch not before the last, ...).
    """
    for name, values in (("max-lr", max_lrs), ("schedule", schedules), ("epochs", epochs)):
        if not values:
            raise ConfigError(f"--{name} needs at least one value")
    for lr in max_lrs:  # before the LRMIN derived from it is checked, which would name the wrong flag
        if not lr > 0:
            raise ConfigError(f"max-lr must be > 0, got {lr}")
    return [Point(dataclasses.replace(base, schedule=s, epochs=e, peak_epoch=peak_epoch, max_lr=lr,
                                      min_lr=min_lr if min_lr is not None else clean(lr / MIN_LR_DIV)))
            for s in dict.fromkeys(schedules) for e in dict.fromkeys(epochs) for lr in dict.fromkeys(max_lrs)]


def found_points(base: Config, epochs, lr_min: float, lr_max: float, *, peak_epoch: int | None = None) -> list[Point]:
    """One cycle at the range test's pair, at each number of epochs."""
    return [Point(dataclasses.replace(base, schedule="one-cycle", epochs=e, peak_epoch=peak_epoch, min_lr=lr_min,
                                      max_lr=lr_max), found=True) for e in dict.fromkeys(epochs)]


def check_found(base: Config, epochs, peak_epoch: int | None) -> None:
    """Refuse now a found point that could not run whatever the pair (its epochs and peak)."""
    found_points(base, epochs, 0.001, 0.1, peak_epoch=peak_epoch)


def duplicates(lists: dict[str, list]) -> list[str]:
    """A note for each list that names a value twice (each point runs once)."""
    notes = []
    for flag, values in lists.items():
        twice = [v for v in dict.fromkeys(values) if list(values).count(v) > 1]
        if twice:
            notes.append(f"note: {flag} names {' '.join(map(str, twice))} more than once; each point runs once")
    return notes


def plan(base: Config, max_lrs, schedules, epochs, *, peak_epoch: int | None = None, seeds: int = 1,
         found: bool = True, max_runs: int = MAX_RUNS) -> list[Point]:
    """The grid's points, every setting checked (before any data is read or folder made): the
    points' configs, every seed, and the number of runs."""
    if seeds < 1:
        raise ConfigError(f"repeat must be >= 1, got {seeds}")
    check_seeds(base.seed, seeds)
    points = grid_points(base, max_lrs, schedules, epochs, min_lr=base.min_lr, peak_epoch=peak_epoch)
    if found:
        check_found(base, epochs, peak_epoch)
    runs = (len(points) + (len(dict.fromkeys(epochs)) if found else 0)) * seeds
    if max_runs < 1:
        raise ConfigError(f"max-runs must be >= 1, got {max_runs}")
    if runs > max_runs:
        raise ConfigError(f"this sweep is {runs:,} runs, more than --max-runs {max_runs:,} (a guard against a typo "
                          f"in --repeat or a list); pass --max-runs {runs} if you mean it")
    return points


def settings(base: Config, peak_epoch: int | None) -> dict:
    """What a sweep measures, less its grid (which may grow or shrink between runs of one OUT) and
    where it runs: two runs into one OUT must agree on every one of these."""
    kept = {k: v for k, v in base.to_dict().items() if k not in (*GRID_FIELDS, *PLACE_FIELDS)}
    return {**kept, "peak_epoch": peak_epoch}


def differences(here: dict, there: dict) -> list[str]:
    """The settings that differ, as flags: ["--subset 200 here, 500 in OUT", ...]."""
    def shown(v):
        return "unset" if v is None else v

    return [f"--{k.replace('_', '-')} {shown(here.get(k))} here, {shown(there.get(k))} in OUT"
            for k in sorted(set(here) | set(there)) if here.get(k) != there.get(k)]


def saved_settings(out: Path) -> dict | None:
    """The settings of the sweep ``out`` holds (sweep_config.json), or None."""
    path = out / "sweep_config.json"
    if not path.is_file():
        return None
    return read_record(path, ("settings",), "pass another --out, or --overwrite to start this sweep anew")["settings"]
