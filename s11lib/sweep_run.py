"""Running a sweep: the range test once, then each (point, seed) as the train job into its own run
folder, here or as Ray tasks (``ray_sweep``), the rows written as they come (``sweep_report``).

    rows = run_sweep(base, out, max_lrs=..., schedules=..., epochs=...)   # the whole sweep into OUT
    row = run_point(point, seed, out, data)   # one run: the unit a local loop or a Ray task calls

A rerun of the same sweep keeps every run that finished or diverged (``kept_row``, decided once, in
``sweep_job``), resumes an interrupted one, and trains the rest.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import socket
import time
from pathlib import Path

from . import voice
from .config import Config, ConfigError, Diverged, Interrupted
from .outputs import POINT_ROW, SWEEP_FILES, read_record, write_atomic
from .sweep_plan import MAX_RUNS, PRESET, Point, differences, found_points, plan, saved_settings, settings
from .sweep_report import COLUMNS, MEASURED, check_measured, write

CONNECT_SECONDS = 30.0  # how long a Ray cluster at --ray ADDRESS has to answer before the sweep says so and stops


def find_pair(base: Config, data, out: Path) -> dict:
    """Run the range test for the found points on ``data`` and keep it in ``out`` (lr_finder.json,
    with the host it ran on, and lr_finder.png); returns {"lr_min", "lr_max", "trusted", "note", "host"}."""
    from . import range_tests, steps
    from .outputs import RunFolder

    try:
        state = steps.prepare(base, data)
        search = range_tests.search_lrs(state)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while running the LR range test; {voice.say('again')}") from None
    range_tests.write_search(RunFolder(out), base, search, host=socket.gethostname())
    return saved_pair(out)


def saved_pair(out: Path) -> dict | None:
    """The pair of a range test this sweep already ran (a rerun reads it back), or None."""
    path = out / "lr_finder.json"
    if not path.exists():
        return None
    found = read_record(path, ("lr_min", "lr_max", "trusted"), "delete it and run the same sweep command again: "
                        "the range test runs anew")
    return {k: found.get(k) for k in ("lr_min", "lr_max", "trusted", "note", "host")}


def untrusted_row(base: Config, found: dict, epochs: int) -> dict:
    """The row that records a found point the range test could not vouch for (nothing trained)."""
    point = Point(dataclasses.replace(base, schedule="one-cycle", epochs=epochs, min_lr=None, max_lr=None), found=True)
    return {**base_row(point, base.seed), "lr_min": found["lr_min"], "lr_max": found["lr_max"], "status": "untrusted",
            "diverged": False, "host": found["host"], "note": found["note"]}


@contextlib.contextmanager
def claimed_sweep(out: Path, base: Config, peak_epoch: int | None, *, overwrite: bool = False):
    """Hold ``out`` for this sweep: a folder holding a sweep of the same settings goes on where it
    stopped (its grid may grow or shrink); one holding a sweep of other settings (the refusal names
    them) or another kind of run is refused (``overwrite`` clears it first). A sweep that ends
    before it kept any row leaves nothing behind."""
    from .outputs import claimed

    ours, theirs = settings(base, peak_epoch), saved_settings(out)
    if not overwrite and theirs is not None and theirs != ours:
        raise ConfigError(f"{out} holds a sweep of other settings ({'; '.join(differences(ours, theirs))}); "
                          + voice.say("replace"))
    mine = theirs == ours and not overwrite  # the same sweep: it goes on; anything else is refused, or cleared
    with claimed(out, overwrite=overwrite, resume=mine) as folder:
        new = not (out / "sweep_config.json").exists()
        write_atomic(out / "sweep_config.json", json.dumps({"settings": ours}, indent=1))
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


def point_dir(out: Path, point: Point, seed: int) -> Path:
    return out / point.name / f"seed-{seed}"


def run_point(point: Point, seed: int, out: Path, data=None, code: dict | None = None) -> dict:
    """One seed of one point into ``out``/<point>/seed-S: the train job (``training.seed_job``, curves only),
    resumed when an interrupted run of it is there (the runners ask ``kept_row`` first, so a finished
    one never gets here); a run that diverges is a row too. A finished point keeps its weights, not
    the optimizer's state (``checkpoint.slim``), and its row (with the host it ran on) in point.json.
    ``code``: the code to record (a Ray driver's), by default this checkout's."""
    from . import checkpoint, provenance, training
    from .datasets import load_cifar10

    folder = point_dir(out, point, seed)
    cfg = dataclasses.replace(point.cfg, seed=seed)
    code = code or provenance.code()
    data = data if data is not None else load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    row = {**base_row(point, seed), "commit": code["commit"], "host": socket.gethostname()}
    try:
        row.update(_done(training.seed_job(cfg, folder, data, curves_only=True, code=code)))
    except Diverged as e:
        row.update(status="diverged", diverged=True, test_accuracy=_last_accuracy(folder), note=str(e))
        folder.mkdir(parents=True, exist_ok=True)
    if (folder / "checkpoint.pt").exists():
        checkpoint.slim(folder / "checkpoint.pt")
    write_atomic(folder / POINT_ROW, json.dumps({"config": cfg.to_dict(), "row": row}, indent=1))
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


def run_sweep(base: Config, out: Path, *, max_lrs=PRESET["max_lr"], schedules=PRESET["schedule"],
              epochs=PRESET["epochs"], peak_epoch: int | None = None, seeds: int = 1, found: bool = True,
              overwrite: bool = False, max_runs: int = MAX_RUNS, runner=None) -> list[dict]:
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


def sweep_job(base: Config, out: Path, points: list[Point], *, seeds: int = 1, found_epochs=(),
              peak_epoch: int | None = None, runner) -> list[dict]:
    """Every point of ``points`` (and the found pair at each of ``found_epochs``) for ``seeds`` seeds,
    into ``out``; writes sweep.csv, sweep.json and the figures as the rows come in; returns the rows.

    ``runner`` runs the range test (``find(base, out)``) and the runs that ``out`` does not hold
    already (``run(todo, out)``, yielding each row as it finishes): a ``LocalRunner`` here, on data
    read once, or a ``ray_sweep.RayRunner``, as Ray tasks.
    """
    t0 = time.perf_counter()
    rows = []
    earlier = read_record(out / "sweep.json", kind=list, fix="delete it and run the same sweep command again: each run's "
                          f"row is read back from its folder ({POINT_ROW})") if (out / "sweep.json").exists() else []
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
    kept = [row for p, s in todo if (row := kept_row(p, s, out)) is not None]  # decided here, once, for any runner
    to_train = [(p, s) for p, s in todo if (p.name, s) not in {(r["point"], r["seed"]) for r in kept}]
    trained, seconds, t_runs = 0, 0.0, time.perf_counter()
    try:
        for done, row in enumerate(itertools.chain(kept, runner.run(to_train, out)), start=1):
            rows.append(row)
            write(out, rows)
            if done > len(kept):
                trained, seconds = trained + 1, time.perf_counter() - t_runs
            left = len(todo) - done
            eta = f", about {_duration(seconds / trained * left)} to go" if trained and left else ""
            print(f"[{done}/{len(todo)}] {row['point']} seed {row['seed']}: {_accuracy(row)}"
                  + (f" on {row['host']}" if row.get("host") else "")
                  + (", kept from an earlier run" if done <= len(kept) else "") + f"; {left} left{eta}")
    except (KeyboardInterrupt, Interrupted):
        measured = sum((r["point"], r["seed"]) in ours and r["status"] in MEASURED for r in rows)
        raise Interrupted(f"interrupted after {measured} of {len(todo)} runs; the finished runs and the interrupted "
                          f"one's last epoch are kept in {out}: the same command goes on where it stopped") from None
    print(f"sweep: {len(todo)} runs in {time.perf_counter() - t0:.0f}s")
    return write(out, rows)


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
            yield run_point(point, seed, out, self.data)


def _accuracy(row: dict) -> str:
    if row["status"] == "done":
        return f"{row['test_accuracy']:.2f}%"
    if row["status"] == "diverged":
        shown = f"{row['test_accuracy']:.2f}% at its last good epoch" if row["test_accuracy"] is not None else "none"
        return f"diverged ({shown})"
    return f"{row['status']}: {row['note']}"
