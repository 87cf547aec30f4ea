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
import json
import socket
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from .config import PLACE_FIELDS, Config, ConfigError, Diverged, Interrupted, check_seeds
from .outputs import POINT_ROW, SWEEP_FILES

PRESET = {"max_lr": (0.05, 0.1, 0.2, 0.4, 0.8, 1.6), "schedule": ("one-cycle", "step"), "epochs": (24,)}
MIN_LR_DIV = 100.0  # a grid point's LRMIN is LRMAX / 100 (Page's pair, 0.004 / 0.4) unless --min-lr is given
# More runs than this is a typo until said otherwise (--max-runs): README's largest sweep, 120 runs of ten seeds, is
# half an hour on one H200; 1,000 runs of 24 epochs are some 4 H200-hours (15 s a run) and months on a 2-core CPU.
MAX_RUNS = 1000
CONNECT_SECONDS = 30.0  # how long a Ray cluster at --ray ADDRESS has to answer before the sweep says so and stops
GRID_FIELDS = ("max_lr", "schedule", "epochs", "peak_epoch")  # the grid's own: between runs of one OUT they may change
COLUMNS = ("point", "schedule", "epochs", "lr_min", "lr_max", "found", "seed", "status", "test_accuracy",
           "test_accuracy_tta", "diverged", "train_seconds", "commit", "host", "note")
MEASURED = ("done", "diverged")  # a row that measured something: a finished run, or one that blew up
FOUND = "found"  # the name part of a point trained at the range test's pair


class NothingMeasured(Exception):
    """Every run of a sweep failed (or none could start): no row measures anything."""


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


# ---------------------------------------------------------------------------------------
# The range test, once per sweep


def find_pair(base: Config, data, out: Path) -> dict:
    """Run the range test for the found points on ``data`` and keep it in ``out`` (lr_finder.json,
    with the host it ran on, and lr_finder.png); returns {"lr_min", "lr_max", "trusted", "note", "host"}."""
    from . import run
    from .outputs import RunFolder

    try:
        state = run.prepare(base, data)
        search = run.find_lrs(state)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while running the LR range test; the same command starts it again") from None
    run.write_search(RunFolder(out), base, search, host=socket.gethostname())
    return saved_pair(out)


def saved_pair(out: Path) -> dict | None:
    """The pair of a range test this sweep already ran (a rerun reads it back), or None."""
    path = out / "lr_finder.json"
    if not path.exists():
        return None
    found = json.loads(path.read_text())
    return {k: found.get(k) for k in ("lr_min", "lr_max", "trusted", "note", "host")}


def untrusted_row(base: Config, found: dict, epochs: int) -> dict:
    """The row that records a found point the range test could not vouch for (nothing trained)."""
    point = Point(dataclasses.replace(base, schedule="one-cycle", epochs=epochs, min_lr=None, max_lr=None), found=True)
    return {**base_row(point, base.seed), "lr_min": found["lr_min"], "lr_max": found["lr_max"], "status": "untrusted",
            "diverged": False, "host": found["host"], "note": found["note"]}


# ---------------------------------------------------------------------------------------
# The sweep's folder


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
    return json.loads(path.read_text())["settings"]


@contextlib.contextmanager
def claimed_sweep(out: Path, base: Config, peak_epoch: int | None, *, overwrite: bool = False):
    """Hold ``out`` for this sweep: a folder holding a sweep of the same settings goes on where it
    stopped (its grid may grow or shrink); one holding a sweep of other settings (the refusal names
    them) or another kind of run is refused (``overwrite`` clears it first). A sweep that ends
    before it kept any row leaves nothing behind."""
    from .outputs import claimed, replace_hint

    ours, theirs = settings(base, peak_epoch), saved_settings(out)
    if not overwrite and theirs is not None and theirs != ours:
        raise ConfigError(f"{out} holds a sweep of other settings ({'; '.join(differences(ours, theirs))}); "
                          + replace_hint())
    mine = theirs == ours and not overwrite  # the same sweep: it goes on; anything else is refused, or cleared
    with claimed(out, overwrite=overwrite, resume=mine) as folder:
        new = not (out / "sweep_config.json").exists()
        (out / "sweep_config.json").write_text(json.dumps({"settings": ours}, indent=1))
        try:
            yield folder
        except BaseException:
            if new and not (out / "sweep.json").exists():  # nothing measured: leave the folder as it was found
                for name in SWEEP_FILES:
                    (out / name).unlink(missing_ok=True)
                for empty in sorted(out.glob("*/seed-*"), reverse=True):
                    with contextlib.suppress(OSError):
                        empty.rmdir()
                        empty.parent.rmdir()
            raise


# ---------------------------------------------------------------------------------------
# One point


def point_dir(out: Path, point: Point, seed: int) -> Path:
    return out / point.name / f"seed-{seed}"


def run_point(point: Point, seed: int, out: Path, data=None, code: dict | None = None) -> dict:
    """One seed of one point into ``out``/<point>/seed-S: the train job (``run.seed_job``, light),
    resumed when an interrupted run of it is there (the runners ask ``kept_row`` first, so a finished
    one never gets here); a run that diverges is a row too. A finished point keeps its weights, not
    the optimizer's state (``checkpoint.slim``), and its row (with the host it ran on) in point.json.
    ``code``: the code to record (a Ray driver's), by default this checkout's."""
    from . import checkpoint, provenance, run
    from .datasets import load_cifar10

    folder = point_dir(out, point, seed)
    cfg = dataclasses.replace(point.cfg, seed=seed)
    code = code or provenance.code()
    data = data if data is not None else load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    row = {**base_row(point, seed), "commit": code["commit"], "host": socket.gethostname()}
    try:
        row.update(_done(run.seed_job(cfg, folder, data, light=True, code=code)))
    except Diverged as e:
        row.update(status="diverged", diverged=True, test_accuracy=_last_accuracy(folder), note=str(e))
        folder.mkdir(parents=True, exist_ok=True)
    if (folder / "checkpoint.pt").exists():
        checkpoint.slim(folder / "checkpoint.pt")
    (folder / POINT_ROW).write_text(json.dumps({"config": cfg.to_dict(), "row": row}, indent=1))
    return row


def kept_row(point: Point, seed: int, out: Path) -> dict | None:
    """The row of a run of this point and seed that ``out`` already holds, finished or diverged; else None."""
    from .outputs import same_run

    cfg, folder = dataclasses.replace(point.cfg, seed=seed), point_dir(out, point, seed)
    try:
        saved = json.loads((folder / POINT_ROW).read_text())
        same = same_run(cfg, Config.from_dict(saved["config"]))
    except (OSError, ValueError, KeyError, TypeError, ConfigError):
        return None
    return {**base_row(point, seed), **saved["row"]} if same else None


def base_row(point: Point, seed: int) -> dict:
    """A row's columns that the point and seed decide, and the commit of the code here."""
    from .provenance import commit

    cfg = point.cfg
    return {**dict.fromkeys(COLUMNS), "point": point.name, "schedule": cfg.schedule, "epochs": cfg.epochs,
            "lr_min": cfg.min_lr, "lr_max": cfg.max_lr, "found": point.found, "seed": seed, "commit": commit()}


def _done(m: dict) -> dict:
    return {"status": "done", "diverged": False, "test_accuracy": m["test_accuracy"],
            "test_accuracy_tta": m["test_accuracy_tta"], "train_seconds": m["train_seconds"]}


def _last_accuracy(folder: Path) -> float | None:
    """The test accuracy of the last epoch a diverged run kept (never the epoch that blew up), if any."""
    from . import checkpoint

    try:
        history = checkpoint.load(folder / "checkpoint.pt")["history"]
    except Exception:  # no checkpoint: it diverged in its first epoch
        return None
    return history[-1]["test_acc"] if history else None


# ---------------------------------------------------------------------------------------
# The whole sweep


def run(base: Config, out: Path, *, max_lrs=PRESET["max_lr"], schedules=PRESET["schedule"], epochs=PRESET["epochs"],
        peak_epoch: int | None = None, seeds: int = 1, found: bool = True, overwrite: bool = False,
        max_runs: int = MAX_RUNS, runner=None) -> list[dict]:
    """The whole sweep of ``base`` (its min_lr, if any, applies to every grid point; its epochs,
    schedule and max_lr are the grid's; ``peak_epoch`` None peaks each length 5/24 in): every point
    checked, the runner started (the data read, or the Ray cluster reached), then trained into
    ``out``; returns the rows.

    Raises:
        NothingMeasured: every run failed.
    """
    points = plan(base, max_lrs, schedules, epochs, peak_epoch=peak_epoch, seeds=seeds, found=found, max_runs=max_runs)
    runner = runner or LocalRunner()
    runner.start(base)  # before OUT is touched: a cluster that does not answer leaves nothing behind
    try:
        with claimed_sweep(out, base, peak_epoch, overwrite=overwrite):
            rows = sweep_job(dataclasses.replace(base, min_lr=None, max_lr=None), out, points, seeds=seeds,
                             found_epochs=epochs if found else (), peak_epoch=peak_epoch, runner=runner)
    finally:
        runner.close()
    check_measured(rows)
    return rows


def plan(base: Config, max_lrs, schedules, epochs, *, peak_epoch: int | None = None, seeds: int = 1,
         found: bool = True, max_runs: int = MAX_RUNS) -> list[Point]:
    """The grid's points, every setting checked (before any data is read or folder made): the
    points' configs, every seed, and the number of runs."""
    if seeds < 1:
        raise ConfigError(f"repeat must be >= 1, got {seeds}")
    check_seeds(base.seed, seeds)
    points = grid(base, max_lrs, schedules, epochs, min_lr=base.min_lr, peak_epoch=peak_epoch)
    if found:
        check_found(base, epochs, peak_epoch)
    runs = (len(points) + (len(dict.fromkeys(epochs)) if found else 0)) * seeds
    if max_runs < 1:
        raise ConfigError(f"max-runs must be >= 1, got {max_runs}")
    if runs > max_runs:
        raise ConfigError(f"this sweep is {runs:,} runs, more than --max-runs {max_runs:,} (a guard against a typo "
                          f"in --repeat or a list); pass --max-runs {runs} if you mean it")
    return points


def sweep_job(base: Config, out: Path, points: list[Point], *, seeds: int = 1, found_epochs=(),
              peak_epoch: int | None = None, runner) -> list[dict]:
    """Every point of ``points`` (and the found pair at each of ``found_epochs``) for ``seeds`` seeds,
    into ``out``; writes sweep.csv, sweep.json and the figures as the rows come in; returns the rows.

    ``runner`` runs the range test (``find(base, out)``) and the runs (``run(todo, out)``, yielding
    each row as it finishes): a ``LocalRunner`` here, on data read once, or a
    ``ray_sweep.RayRunner``, as Ray tasks.
    """
    t0 = time.perf_counter()
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
    rows += [r for r in earlier if (r["point"], r["seed"]) not in ours]  # a grid that changed keeps its earlier rows
    print(f"sweep: {len(todo)} run{'s' * (len(todo) != 1)} ({len(points)} point{'s' * (len(points) != 1)} x "
          f"{seeds} seed{'s' * (seeds != 1)}) into {out}")
    trained, seconds, t_runs = 0, 0.0, time.perf_counter()
    try:
        for done, row in enumerate(runner.run(todo, out), start=1):
            kept = row.pop("kept", False)
            rows.append(row)
            write(out, rows)
            if not kept:
                trained, seconds = trained + 1, time.perf_counter() - t_runs
            left = len(todo) - done
            eta = f", about {_duration(seconds / trained * left)} to go" if trained and left else ""
            print(f"[{done}/{len(todo)}] {row['point']} seed {row['seed']}: {_accuracy(row)}"
                  + (f" on {row['host']}" if row.get("host") else "") + (", kept from an earlier run" if kept else "")
                  + f"; {left} left{eta}")
    except (KeyboardInterrupt, Interrupted):
        kept = sum((r["point"], r["seed"]) in ours and r["status"] in MEASURED for r in rows)
        raise Interrupted(f"interrupted after {kept} of {len(todo)} runs; the finished runs and the interrupted "
                          f"one's last epoch are kept in {out}: the same command goes on where it stopped") from None
    print(f"sweep: {len(todo)} runs in {time.perf_counter() - t0:.0f}s")
    return write(out, rows)


def check_measured(rows: list[dict]) -> None:
    """Refuse a sweep whose every run failed: it measured nothing, whatever its exit would say."""
    if rows and not any(r["status"] in MEASURED for r in rows):
        first = next((r for r in rows if r["status"] == "failed"), rows[0])
        raise NothingMeasured(f"no run of this sweep finished or diverged ({len(rows)} rows, none measured); "
                              f"the first {first['status']} one, {first['point']} seed {first['seed']}: {first['note']}")


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min" if seconds < 7200 else \
        f"{seconds / 3600:.1f} h"


class LocalRunner:
    """The runs here, one after another, on the data read once."""

    def start(self, base: Config) -> None:
        from .datasets import check_source, load_cifar10

        check_source(base.data)
        try:
            self.data = load_cifar10(base.data, data_dir=base.data_dir, subset=base.subset)
        except KeyboardInterrupt:
            raise Interrupted("interrupted while reading the data; nothing was written") from None

    def close(self) -> None:
        self.data = None

    def find(self, base: Config, out: Path) -> dict:
        return find_pair(base, self.data, out)

    def run(self, todo, out: Path):
        for point, seed in todo:
            kept = kept_row(point, seed, out)
            yield {**kept, "kept": True} if kept is not None else run_point(point, seed, out, self.data)


def _accuracy(row: dict) -> str:
    if row["status"] == "done":
        return f"{row['test_accuracy']:.2f}%"
    if row["status"] == "diverged":
        shown = f"{row['test_accuracy']:.2f}% at its last good epoch" if row["test_accuracy"] is not None else "none"
        return f"diverged ({shown})"
    return f"{row['status']}: {row['note']}"


# ---------------------------------------------------------------------------------------
# What a sweep writes


def write(out: Path, rows: list[dict]) -> list[dict]:
    """sweep.csv, sweep.json and the figures (once a row measured something), from ``rows``;
    returns the rows in the files' order."""
    from . import plots

    rows = sorted(rows, key=lambda r: (r["schedule"], r["epochs"], not r["found"], r["lr_max"] or 0, r["seed"]))
    (out / "sweep.json").write_text(json.dumps([{k: r.get(k) for k in COLUMNS} for r in rows], indent=1))
    with open(out / "sweep.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    if any(r["status"] in MEASURED for r in rows):
        for name, ax in figures(out, rows).items():
            plots.save(ax, out / name, close=True)
    return rows


def figures(out: Path, rows: list[dict]) -> dict:
    """A sweep's figures, drawn ({file name: Axes}), one colour per (schedule, length) in all of them:
    accuracy against LRMAX; the test accuracy per epoch of each schedule and length at its best
    LRMAX and of the found pair (medians over seeds, from each run's history.csv); and, for several
    lengths, the final accuracy at the best LRMAX against the length."""
    from . import plots

    colors = plots.sweep_colors({(r["schedule"], r["epochs"]) for r in rows})
    pair = next((r for r in rows if r["found"]), None)
    found_lr = pair["lr_max"] if pair is not None and pair["status"] != "untrusted" else None
    untrusted = f"range test cannot be trusted ({pair['note']}): no found point trained" \
        if pair is not None and pair["status"] == "untrusted" else None
    drawn = {"sweep_lr.png": plots.sweep_lr(rows, colors, found_lr_max=found_lr, note=untrusted)}
    best = best_points(rows)
    found = [p for p in point_medians(rows) if p["found"]]
    drawn_points = {p["point"]: p for p in (*best, *found)}  # the found pair may be its schedule's best point too
    curves = [curve for p in drawn_points.values() if (curve := _median_curve(out, rows, p, colors)) is not None]
    if curves:
        drawn["sweep_curves.png"] = plots.sweep_curves(curves)
    if len({r["epochs"] for r in rows}) > 1:
        budget = {}
        for p in best:
            budget.setdefault(p["schedule"], []).append((p["epochs"], p["median"]))
        found_line = sorted((p["epochs"], p["median"]) for p in found)
        drawn["sweep_budget.png"] = plots.sweep_budget(budget, colors, found=found_line)
    return drawn


def point_medians(rows: list[dict]) -> list[dict]:
    """Each point with a finished run: a row of its first finished seed with "median" (test accuracy
    over its finished seeds) and "seeds" (how many) added. Diverged runs are no point's result."""
    by_point = {}
    for r in rows:
        if r["status"] == "done":
            by_point.setdefault(r["point"], []).append(r)
    return [{**runs[0], "median": statistics.median(r["test_accuracy"] for r in runs), "seeds": len(runs)}
            for runs in by_point.values()]


def best_points(rows: list[dict]) -> list[dict]:
    """The best point (median test accuracy over its finished seeds) of each (schedule, epochs), best first."""
    best = {}
    for m in sorted(point_medians(rows), key=lambda m: -m["median"]):
        best.setdefault((m["schedule"], m["epochs"]), m)
    return list(best.values())


def _median_curve(out: Path, rows: list[dict], point: dict, colors: dict) -> dict | None:
    """The test accuracy per epoch of ``point``, the median over its finished seeds, ready to draw."""
    histories = [h for r in rows if r["point"] == point["point"] and r["status"] == "done"
                 if (h := _history(out, r))]
    if not histories:
        return None
    epochs = [r["epoch"] for r in histories[0]]
    median = [statistics.median(h[i]["test_acc"] for h in histories) for i in range(len(epochs))]
    seeds = f"median of {len(histories)} seeds" if len(histories) > 1 else "1 seed"
    what = "one cycle at the found pair" if point["found"] else point["schedule"]
    return {"label": f"{what}, {point['epochs']} epochs, LRMAX {point['lr_max']:.3g} ({seeds})", "epochs": epochs,
            "accuracy": median, "color": colors[(point["schedule"], point["epochs"])], "found": point["found"]}


def _history(out: Path, row: dict) -> list[dict]:
    path = out / row["point"] / f"seed-{row['seed']}" / "history.csv"
    if not path.exists():
        return []
    with open(path) as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def table(rows: list[dict]) -> str:
    """The sweep as text: the best point of each schedule first, then every run."""
    best = best_points(rows)
    lines = ["best point of each schedule (median test accuracy over its finished seeds):"]
    lines += [f"  {r['schedule']:<10} {r['epochs']:>3} epochs  LRMAX {r['lr_max']:<7.4g} {r['median']:6.2f}%"
              + (f"  ({r['seeds']} seeds)" if r["seeds"] > 1 else "")
              + ("  (found by the range test)" if r["found"] else "") for r in best]
    if not best:
        lines.append("  none: no run has finished")
    lines.append(f"{'point':<28} {'seed':>4}  {'LRMIN':>8} {'LRMAX':>8}  {'test acc':>9}  {'TTA':>6}  status")
    for r in rows:
        acc = f"{r['test_accuracy']:.2f}" if r["test_accuracy"] is not None else "-"
        tta = f"{r['test_accuracy_tta']:.2f}" if r["test_accuracy_tta"] is not None else "-"
        status = r["status"] + (" (last good epoch's accuracy)" if r["status"] == "diverged" and acc != "-" else "")
        lines.append(f"{r['point']:<28} {r['seed']:>4}  {r['lr_min'] or 0:>8.4g} {r['lr_max'] or 0:>8.4g}  {acc:>9}  "
                     f"{tta:>6}  {status}")
    return "\n".join(lines)
