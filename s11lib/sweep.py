"""A sweep: the same train job over a grid of schedules x LRMAX x epochs (x seeds), beside the pair
the LR range test finds, to measure what the one cycle and the found LRs buy (issue 24).

    points = grid(base, max_lrs, schedules, epochs)   # every point's config, checked before any work
    found = find_pair(base, data, folder)              # the range test, once; kept in OUT/lr_finder.json
    row = run_point(point, seed, out, data)            # one run: the unit a local loop or a Ray task calls
    write(folder, rows)                                # sweep.csv, sweep.json and the figures

A point's folder, ``OUT/<schedule>-e<epochs>-lr<max_lr>/seed-S/``, is a run folder like any other
(``run.seed_job`` with ``light=True``: no augmented samples, mistakes figures or GradCAM), so a
rerun keeps its finished points and resumes an interrupted one.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import functools
import json
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Config, ConfigError, Diverged, Interrupted

PRESET = {"max_lr": (0.05, 0.1, 0.2, 0.4, 0.8, 1.6), "schedule": ("one-cycle", "step"), "epochs": (24,)}
MIN_LR_DIV = 100.0  # a grid point's LRMIN is LRMAX / 100 (Page's pair, 0.004 / 0.4) unless --min-lr is given
COLUMNS = ("point", "schedule", "epochs", "lr_min", "lr_max", "found", "seed", "status", "test_accuracy",
           "test_accuracy_tta", "diverged", "train_seconds", "commit", "host", "note")
SWEEP_FILES = ("sweep_config.json", "sweep.csv", "sweep.json", "lr_finder.json", "lr_finder.png", "sweep_lr.png",
               "sweep_curves.png", "sweep_budget.png")
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


def grid(base: Config, max_lrs, schedules, epochs, *, min_lr: float | None = None,
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
                                      min_lr=min_lr if min_lr is not None else lr / MIN_LR_DIV))
            for s in dict.fromkeys(schedules) for e in dict.fromkeys(epochs) for lr in dict.fromkeys(max_lrs)]


def found_points(base: Config, epochs, lr_min: float, lr_max: float, *, peak_epoch: int | None = None) -> list[Point]:
    """One cycle at the range test's pair, at each number of epochs."""
    return [Point(dataclasses.replace(base, schedule="one-cycle", epochs=e, peak_epoch=peak_epoch, min_lr=lr_min,
                                      max_lr=lr_max), found=True) for e in dict.fromkeys(epochs)]


def check_found(base: Config, epochs, peak_epoch: int | None) -> None:
    """Refuse now a found point that could not run whatever the pair (its epochs and peak)."""
    found_points(base, epochs, 0.001, 0.1, peak_epoch=peak_epoch)


# ---------------------------------------------------------------------------------------
# The range test, once per sweep


def find_pair(base: Config, data, out: Path) -> dict:
    """Run the range test for the found points on ``data`` and keep it in ``out`` (lr_finder.json
    and lr_finder.png); returns {"lr_min", "lr_max", "trusted", "note"}."""
    from . import figures, plots, run

    try:
        state = run.prepare(base, data)
        search = run.find_lrs(state)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while running the LR range test; the same command starts it again") from None
    plots.save(figures.lr_figure(search), out / "lr_finder.png", close=True)
    (out / "lr_finder.json").write_text(run.search_json(base, search))
    return saved_pair(out)


def saved_pair(out: Path) -> dict | None:
    """The pair of a range test this sweep already ran (a rerun reads it back), or None."""
    path = out / "lr_finder.json"
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    return {k: found[k] for k in ("lr_min", "lr_max", "trusted", "note")}


def untrusted_row(base: Config, found: dict, epochs: int) -> dict:
    """The row that records a found point the range test could not vouch for (nothing trained)."""
    point = Point(dataclasses.replace(base, schedule="one-cycle", epochs=epochs, min_lr=None, max_lr=None), found=True)
    return {**base_row(point, base.seed), "lr_min": found["lr_min"], "lr_max": found["lr_max"], "status": "untrusted",
            "diverged": False, "note": found["note"]}


# ---------------------------------------------------------------------------------------
# The sweep's folder


@contextlib.contextmanager
def claimed_sweep(out: Path, base: Config, *, overwrite: bool = False):
    """Hold ``out`` for this sweep: a folder holding a sweep of the same settings goes on where it
    stopped (its grid may grow); one holding another sweep or another kind of run is refused
    (``overwrite`` clears it first)."""
    from .outputs import FIND_LR_OUTPUTS, RUN_FILES, TRAIN_OUTPUTS, claimed

    saved = out / "sweep_config.json"
    mine = saved.is_file() and _same_sweep(Config.from_dict(json.loads(saved.read_text())), base)
    if saved.is_file() and not mine and not overwrite:
        raise ConfigError(f"{out} holds a sweep of other settings; pass --overwrite to replace it, or another --out")
    others = tuple(f for f in (*RUN_FILES, *FIND_LR_OUTPUTS) if f != "sweep_config.json")
    with claimed(out, overwrite=overwrite, resume=mine and not overwrite, outputs=(*SWEEP_FILES, *TRAIN_OUTPUTS),
                 run_files=(*others, "sweep_config.json")) as folder:
        saved.write_text(base.to_json())
        yield folder


def _same_sweep(a: Config, b: Config) -> bool:
    """The same sweep, whatever the settings that only say where it runs (device, workers, progress)."""
    return dataclasses.replace(b, device=a.device, workers=a.workers, progress=a.progress) == a


# ---------------------------------------------------------------------------------------
# One point


def point_dir(out: Path, point: Point, seed: int) -> Path:
    return out / point.name / f"seed-{seed}"


def run_point(point: Point, seed: int, out: Path, data=None, host: str | None = None) -> dict:
    """One seed of one point into ``out``/<point>/seed-S: the train job (``run.seed_job``, light),
    kept or resumed when a run of it is there; a run that diverges is a row too (and is kept as such)."""
    from . import run
    from .datasets import load_cifar10

    folder = point_dir(out, point, seed)
    kept = kept_row(point, seed, out)
    if kept is not None:
        print(f"{point.name} seed {seed}: kept the finished run in {folder}")
        return {**kept, "host": host}
    cfg = dataclasses.replace(point.cfg, seed=seed)
    data = data if data is not None else load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    try:
        m = run.seed_job(cfg, folder, data, light=True)
    except Diverged as e:
        row = {"status": "diverged", "diverged": True, "test_accuracy": _last_accuracy(folder), "note": str(e)}
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "diverged.json").write_text(json.dumps({"config": cfg.to_dict(), "row": row}, indent=1))
        return {**base_row(point, seed), **row, "host": host}
    return {**base_row(point, seed), **_done(m), "host": host}


def kept_row(point: Point, seed: int, out: Path) -> dict | None:
    """The row of a run of this point and seed that ``out`` already holds, finished or diverged; else None."""
    from . import run

    cfg, folder = dataclasses.replace(point.cfg, seed=seed), point_dir(out, point, seed)
    diverged = folder / "diverged.json"
    if diverged.exists() and run.same_run(cfg, Config.from_dict(json.loads(diverged.read_text())["config"])):
        return {**base_row(point, seed), **json.loads(diverged.read_text())["row"]}
    m = run.finished(folder, cfg)
    return {**base_row(point, seed), **_done(m)} if m is not None else None


def base_row(point: Point, seed: int) -> dict:
    """A row's columns that the point and seed decide."""
    cfg = point.cfg
    return {**dict.fromkeys(COLUMNS), "point": point.name, "schedule": cfg.schedule, "epochs": cfg.epochs,
            "lr_min": cfg.min_lr, "lr_max": cfg.max_lr, "found": point.found, "seed": seed, "commit": commit()}


def _done(m: dict) -> dict:
    return {"status": "done", "diverged": False, "test_accuracy": m["test_accuracy"],
            "test_accuracy_tta": m["test_accuracy_tta"], "train_seconds": m["train_seconds"]}


def _last_accuracy(folder: Path) -> float | None:
    """The test accuracy of the last finished epoch a diverged run kept, if any (measured, not made up)."""
    from . import checkpoint

    try:
        history = checkpoint.load(folder / "checkpoint.pt")["history"]
    except Exception:  # no checkpoint: it diverged in its first epoch
        return None
    return history[-1]["test_acc"] if history else None


@functools.lru_cache(maxsize=1)
def commit() -> str | None:
    """The git commit of the checkout s11lib runs from ("-dirty" when it has changes), or None outside one."""
    try:
        done = subprocess.run(["git", "-C", str(Path(__file__).parent), "describe", "--always", "--dirty", "--abbrev=7"],
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None


# ---------------------------------------------------------------------------------------
# The whole sweep, on one machine


def run(base: Config, out: Path, *, max_lrs=PRESET["max_lr"], schedules=PRESET["schedule"], epochs=PRESET["epochs"],
        peak_epoch: int | None = None, seeds: int = 1, found: bool = True, overwrite: bool = False,
        runner=None) -> list[dict]:
    """The whole sweep of ``base`` (its min_lr, if any, applies to every grid point; its epochs,
    schedule and max_lr are the grid's; ``peak_epoch`` None peaks each length 5/24 in): every point
    checked, then trained into ``out``; returns the rows."""
    points = plan(base, max_lrs, schedules, epochs, peak_epoch=peak_epoch, seeds=seeds, found=found)
    base = dataclasses.replace(base, min_lr=None, max_lr=None)
    with claimed_sweep(out, base, overwrite=overwrite):
        return sweep_job(base, out, points, seeds=seeds, found_epochs=epochs if found else (), peak_epoch=peak_epoch,
                         runner=runner)


def plan(base: Config, max_lrs, schedules, epochs, *, peak_epoch: int | None = None, seeds: int = 1,
         found: bool = True) -> list[Point]:
    """The grid's points, every setting checked (before any data is read or folder made)."""
    if seeds < 1:
        raise ConfigError(f"repeat must be >= 1, got {seeds}")
    points = grid(base, max_lrs, schedules, epochs, min_lr=base.min_lr, peak_epoch=peak_epoch)
    if found:
        check_found(base, epochs, peak_epoch)
    return points


def sweep_job(base: Config, out: Path, points: list[Point], *, seeds: int = 1, found_epochs=(),
              peak_epoch: int | None = None, runner=None) -> list[dict]:
    """Every point of ``points`` (and the found pair at each of ``found_epochs``) for ``seeds`` seeds,
    into ``out``; writes sweep.csv, sweep.json and the figures as the rows come in; returns the rows.

    ``runner`` runs the range test (``find(base, out)``) and the runs (``run(todo, out)``, yielding
    each row as it finishes): by default a ``LocalRunner`` here, on data read once; a
    ``ray_sweep.RayRunner`` runs them as Ray tasks.
    """
    t0 = time.perf_counter()
    runner = runner or LocalRunner(base)
    rows = []
    earlier = json.loads((out / "sweep.json").read_text()) if (out / "sweep.json").exists() else []
    if found_epochs:
        found = saved_pair(out) or runner.find(base, out)
        print(f"LR range test: LRMIN {found['lr_min']:.4g}, LRMAX {found['lr_max']:.4g}"
              + ("" if found["trusted"] else f" cannot be trusted ({found['note']}): its points are not trained"))
        if found["trusted"]:
            points = [*points, *found_points(base, found_epochs, found["lr_min"], found["lr_max"],
                                             peak_epoch=peak_epoch)]
        else:
            rows += [untrusted_row(base, found, e) for e in dict.fromkeys(found_epochs)]
    todo = [(p, base.seed + i) for p in points for i in range(seeds)]
    ours = {(p.name, s) for p, s in todo} | {(r["point"], r["seed"]) for r in rows}
    rows += [r for r in earlier if (r["point"], r["seed"]) not in ours]  # a grid that grew keeps its earlier rows
    print(f"sweep: {len(todo)} runs ({len(points)} points x {seeds} seeds) into {out}")
    try:
        for done, row in enumerate(runner.run(todo, out), start=1):
            rows.append(row)
            print(f"[{done}/{len(todo)}] {row['point']} seed {row['seed']}: {_accuracy(row)}"
                  + (f" on {row['host']}" if row.get("host") else "") + f"; {len(todo) - done} left")
            write(out, rows)
    except (KeyboardInterrupt, Interrupted) as e:
        kept = sum((r["point"], r["seed"]) in ours and r["status"] in ("done", "diverged") for r in rows)
        raise Interrupted(f"interrupted after {kept} of {len(todo)} runs ({e}); the finished runs are kept in {out}: "
                          "the same command goes on where it stopped") from None
    print(f"sweep: {len(todo)} runs in {time.perf_counter() - t0:.0f}s")
    return write(out, rows)


class LocalRunner:
    """The runs here, one after another, on the data read once."""

    def __init__(self, base: Config):
        from .datasets import load_cifar10

        try:
            self.data = load_cifar10(base.data, data_dir=base.data_dir, subset=base.subset)
        except KeyboardInterrupt:
            raise Interrupted("interrupted while reading the data; nothing was trained") from None

    def find(self, base: Config, out: Path) -> dict:
        return find_pair(base, self.data, out)

    def run(self, todo, out: Path):
        for point, seed in todo:
            yield run_point(point, seed, out, self.data)


def _accuracy(row: dict) -> str:
    if row["status"] == "done":
        return f"{row['test_accuracy']:.2f}%"
    if row["status"] == "diverged":
        shown = f"{row['test_accuracy']:.2f}% at its last finite epoch" if row["test_accuracy"] is not None else "none"
        return f"diverged ({shown})"
    return f"{row['status']}: {row['note']}"


# ---------------------------------------------------------------------------------------
# What a sweep writes


def write(out: Path, rows: list[dict]) -> list[dict]:
    """sweep.csv, sweep.json and the figures, from ``rows``; returns the rows in the files' order."""
    from . import plots

    rows = sorted(rows, key=lambda r: (r["schedule"], r["epochs"], not r["found"], r["lr_max"] or 0, r["seed"]))
    (out / "sweep.json").write_text(json.dumps(rows, indent=1))
    with open(out / "sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    for name, ax in figures(out, rows).items():
        plots.save(ax, out / name, close=True)
    return rows


def figures(out: Path, rows: list[dict]) -> dict:
    """A sweep's figures, drawn ({file name: Axes}): accuracy against LRMAX, each schedule's best
    curve (each point's history read from its folder) and, for several lengths, the budget."""
    from . import plots

    found = next((r["lr_max"] for r in rows if r["found"] and r["status"] != "untrusted"), None)
    drawn = {"sweep_lr.png": plots.sweep_lr(rows, found_lr_max=found)}
    best = best_points(rows)
    curves = {f"{r['schedule']}, {r['epochs']} epochs, LRMAX {r['lr_max']:.3g}": _history(out, r) for r in best}
    curves = {label: h for label, h in curves.items() if h}
    if curves:
        drawn["sweep_curves.png"] = plots.sweep_curves(curves)
    if len({r["epochs"] for r in rows}) > 1:
        budget = {}
        for r in best:
            budget.setdefault(r["schedule"], []).append((r["epochs"], r["median"]))
        drawn["sweep_budget.png"] = plots.sweep_budget(budget)
    return drawn


def best_points(rows: list[dict]) -> list[dict]:
    """The best point (median test accuracy over its seeds) of each (schedule, epochs), best first;
    each a row of its first seed with "median" added."""
    by_point = {}
    for r in rows:
        if r["status"] in ("done", "diverged") and r["test_accuracy"] is not None:
            by_point.setdefault(r["point"], []).append(r)
    medians = [{**runs[0], "median": statistics.median(r["test_accuracy"] for r in runs)} for runs in by_point.values()]
    best = {}
    for m in sorted(medians, key=lambda m: -m["median"]):
        best.setdefault((m["schedule"], m["epochs"]), m)
    return list(best.values())


def _history(out: Path, row: dict) -> list[dict]:
    path = out / row["point"] / f"seed-{row['seed']}" / "history.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def table(rows: list[dict]) -> str:
    """The sweep as text: the best point of each schedule first, then every run."""
    lines = ["best point of each schedule (median test accuracy over its seeds):"]
    lines += [f"  {r['schedule']:<10} {r['epochs']:>3} epochs  LRMAX {r['lr_max']:<7.4g} {r['median']:6.2f}%"
              + ("  (found by the range test)" if r["found"] else "") for r in best_points(rows)]
    lines.append(f"{'point':<28} {'seed':>4}  {'LRMIN':>8} {'LRMAX':>8}  {'test acc':>9}  {'TTA':>6}  status")
    for r in rows:
        acc = f"{r['test_accuracy']:.2f}" if r["test_accuracy"] is not None else "-"
        tta = f"{r['test_accuracy_tta']:.2f}" if r["test_accuracy_tta"] is not None else "-"
        lines.append(f"{r['point']:<28} {r['seed']:>4}  {r['lr_min'] or 0:>8.4g} {r['lr_max'] or 0:>8.4g}  {acc:>9}  "
                     f"{tta:>6}  {r['status']}")
    return "\n".join(lines)
