"""What each command does before and after its job: check its input, claim its output folder,
call its job (``training``, ``range_tests``, ``gradcam``, ``inference``, ``sweep_run``), and print the line
that ends it. ``cli`` parses the flags and calls these.

The jobs that need torch (``training``, ``range_tests``, ``checkpoint``, ``gradcam``, ``engine``, ``model``,
``records``, ``tries``), matplotlib (``plots``) or Ray are imported inside the command that runs them: torch
alone takes seconds to import, and a typo, ``--help`` or a refused folder answer before it. Everything else
is imported here."""

from __future__ import annotations

import argparse
import dataclasses
import signal
import threading
from pathlib import Path

from . import inference, sweep_plan, sweep_report, sweep_run, voice
from .config import Config, ConfigError, InputError, check_seeds, checked
from .datasets import check_source
from .outputs import POINT_ROW, REPEATS, checkpoint_file, claimed, contents, figure_path, make_dirs, read_record, readable, remove_empty

ZIGZAG_MAX_CYCLES = 10_000  # a plot of more cycles is a solid block of colour



def cmd_train(cfg: Config, out: Path, overwrite: bool = False, lr_from: Path | None = None) -> dict:
    """``lr_from``: a folder holding a range test of this config (``find-lr``'s), read back instead of run again."""

    check_source(cfg.data)  # before torch is imported: a mistyped path answers at once
    from . import range_tests, training

    search = None
    if lr_from is not None:
        search = range_tests.saved_search(lr_from, cfg)
        print(f"the range test of {lr_from}, read back (not run again): LRMIN {search.lr_min:.4g}, "
              f"LRMAX {search.lr_max:.4g} ({search.note})")
    with claimed(out, overwrite=overwrite) as folder:
        m = training.train_job(cfg, folder, search=search)
    last_line(f"wrote {', '.join(folder.written)} to {folder.path}")
    return m


def cmd_resume(path: Path, overrides: dict) -> dict:
    """Continue the run in ``path`` (a run folder or its checkpoint.pt) from its checkpoint, with its own config;
    a checkpoint of every epoch whose run stopped before metrics.json is scored and drawn."""
    from . import checkpoint, training
    from .checkpoint import CheckpointError

    ckpt_path = checkpoint_file(path)
    ckpt = checkpoint.load(ckpt_path)
    cfg = dataclasses.replace(ckpt["config"], **overrides)
    if readable(ckpt_path.parent / "metrics.json"):  # a damaged one is rewritten from the checkpoint
        raise CheckpointError(f"the run in {ckpt_path.parent} finished (metrics.json): nothing to resume; its results: "
                              f"s11 summary {ckpt_path.parent}")
    if not checkpoint.resumable(ckpt):
        raise CheckpointError(f"{ckpt_path} holds a sweep point's weights alone (no optimizer or random state), which "
                              "cannot be resumed; the point's row is in its sweep's sweep.csv")
    with claimed(ckpt_path.parent, resume=True) as folder:
        m = training.train_job(cfg, folder, resume=ckpt)
    last_line(f"wrote {', '.join(folder.written)} to {folder.path}")
    return m


def cmd_repeat(cfg: Config, out: Path, repeat: int, overwrite: bool = False) -> dict:

    repeat = checked("repeat", repeat, int, False)
    if repeat < 1:
        raise ConfigError(f"repeat must be >= 1, got {repeat}")
    check_seeds(cfg.seed, repeat)

    check_source(cfg.data)  # before torch is imported: a mistyped path answers at once
    from . import training
    from .engine import resolve_device

    resolve_device(cfg.device)
    with claimed(out, overwrite=overwrite, goes_on=("repeat-unfinished",)) as folder:  # an interrupted one goes on
        summary = training.repeat_job(cfg, folder, repeat, overwrite=overwrite)
    last_line(f"{repeat} seeds: test accuracy {', '.join(f'{a:.2f}' for a in summary['test_accuracy'])}; "
          f"median {summary['median']:.2f}%, mean {summary['mean']:.2f}%, std {summary['std']:.2f}; "
          f"with flip TTA median {summary['median_tta']:.2f}%")
    return summary


def cmd_find_lr(cfg: Config, out: Path, overwrite: bool = False):

    check_source(cfg.data)  # before torch is imported: a mistyped path answers at once
    from . import range_tests

    with claimed(out, overwrite=overwrite) as folder:
        search = range_tests.find_lr_job(cfg, folder)
    last_line(f"wrote {', '.join(folder.written)} to {folder.path}")
    return search


def cmd_zigzag(args: argparse.Namespace) -> None:
    if not 0 < args.lr_min < args.lr_max:
        raise ConfigError(f"need 0 < lr-min < lr-max, got {args.lr_min} and {args.lr_max}")
    if args.step_size <= 0 or not 0 < args.cycles <= ZIGZAG_MAX_CYCLES:
        raise ConfigError(f"step-size must be > 0 and cycles between 1 and {ZIGZAG_MAX_CYCLES:,}")

    created = make_dirs(figure_path(args.out).parent)
    try:
        from . import plots
        from .schedule import zigzag_corners

        it, lrs = zigzag_corners(lr_min=args.lr_min, lr_max=args.lr_max, step_size=args.step_size, cycles=args.cycles)
        plots.save(plots.zigzag(it, lrs), args.out, close=True)
    except BaseException:
        remove_empty(created)
        raise
    print(f"wrote {args.out}")


def cmd_gradcam(args: argparse.Namespace) -> None:

    figure_path(args.out)  # a wrong --out is refused before the checkpoint (and torch) is loaded
    from . import checkpoint, gradcam

    path = checkpoint_file(args.checkpoint)
    ckpt = checkpoint.load(path)
    cfg = ckpt["config"]
    data_source = args.data if args.data is not None else cfg.data
    check_source(data_source)
    cfg = dataclasses.replace(cfg, device=args.device, data=data_source)
    created = make_dirs(figure_path(args.out).parent)
    try:
        gradcam.gradcam_job(cfg, ckpt, path, args.out, layer=args.gradcam_layer or cfg.gradcam_layer, target=args.target)
    except BaseException:
        remove_empty(created)
        raise


def cmd_predict(run: Path, images: list[Path], out: Path | None, device: str = "auto") -> list:
    """The trained net of ``run`` on ``images``: a line each (top 3 classes), and the figure into ``out``."""

    if out is not None:
        figure_path(out)
    predictions = inference.predict(run, images, device=device)
    print(inference.report(predictions))
    if out is not None:
        from . import plots

        created = make_dirs(out.parent)
        try:
            plots.save(plots.predictions(predictions), out, close=True)
        except BaseException:
            remove_empty(created)
            raise
        last_line(f"wrote {out} (each image at 32x32 beside the GradCAM map of its top class)")
    return predictions


def cmd_sweep(given: dict, out: Path, lists: dict, *, seeds: int = 1, found: bool = True, overwrite: bool = False,
              max_runs: int | None = None, ray: str | None = None, ray_gpus: float = 1.0, ray_cpus: float = 2.0,
              ray_timeout: float | None = None) -> list[dict]:
    """The grid's every point checked, then trained into ``out`` (here, or as Ray tasks with ``ray``).

    Args:
        given: Config fields other than the grid's lists.
        lists: the grid's lists, {"max_lr": [...], "schedule": [...], "epochs": [...]}.
    """

    for name, values in lists.items():  # the grid's lists and the sweep's own numbers, as Config checks its fields
        lists[name] = [checked(name, v) for v in values]
    seeds, max_runs = checked("repeat", seeds, int, False), checked("max_runs", max_runs, int, True)
    ray_gpus, ray_cpus = checked("ray_gpus", ray_gpus, float, False), checked("ray_cpus", ray_cpus, float, False)
    ray_timeout = checked("ray_timeout", ray_timeout, float, True)
    peak = checked("peak_epoch", given.pop("peak_epoch", None))  # checked against every length by sweep_plan.grid_points
    base = Config.from_dict({**given, "epochs": max(lists["epochs"])})  # the grid's longest run carries the other flags
    spans = dict(max_lrs=lists["max_lr"], schedules=lists["schedule"], epochs=lists["epochs"], peak_epoch=peak)
    max_runs = sweep_plan.MAX_RUNS if max_runs is None else max_runs
    sweep_plan.plan(base, **spans, seeds=seeds, found=found, max_runs=max_runs)  # settings first, as for every command
    runner = None
    if ray is not None:
        from .ray_sweep import RayRunner

        runner = RayRunner(ray, gpus=ray_gpus, cpus=ray_cpus,
                           timeout=sweep_run.CONNECT_SECONDS if ray_timeout is None else ray_timeout)
    for note in sweep_plan.duplicates({f"--{k.replace('_', '-')}": v for k, v in lists.items()}):
        print(note)
    rows = sweep_run.run_sweep(base, out, **spans, seeds=seeds, found=found, overwrite=overwrite, max_runs=max_runs,
                    runner=runner)
    last_line(sweep_report.table(rows))
    return rows


def unfinished_line(folder: Path) -> str:
    """What ``summary`` says of an unfinished train run: how to continue it, or that its checkpoint cannot."""
    from .checkpoint import load

    try:
        load(folder / "checkpoint.pt")
    except InputError as e:  # cut short or foreign: nothing can continue it
        return f"{folder} holds a train run that has not finished and cannot be continued: {e}; train it anew " \
               "into this folder with --overwrite"
    return (f"{folder} holds a train run that has not finished (checkpoint.pt, no metrics.json); continue it with: "
            f"python -m s11lib train --resume {folder}")


def cmd_summary(folder: Path | None = None) -> None:
    """The model table; or what a folder holds: a sweep's table, a run's results, a repeat's seeds,
    a range test's pair, a folder of runs' table (the notebook's tries); or one line saying which
    other case it met and what works there."""
    from . import tries

    if folder is None:
        from .model import ResNet9, summary

        print(summary(ResNet9()))
        return
    if not folder.exists():
        raise ConfigError(f"no such path: {folder}; pass a sweep's --out or a run folder")
    if not folder.is_dir():
        raise ConfigError(f"{folder} is a file; pass a sweep's --out or a run folder")
    kind = (contents(folder) or ("nothing", ""))[0]
    if kind == "sweep" and (folder / "sweep.json").is_file():
        from .sweep_report import check_measured, table

        rows = read_record(folder / "sweep.json", kind=list, fix="run its sweep command again: it rewrites sweep.json "
                           "from its runs' folders")
        print(table(rows))
        check_measured(rows)
    elif kind == "sweep":
        runs = [d for d in folder.glob("*/seed-*") if d.is_dir()]
        raise ConfigError(f"{folder} holds a sweep that has finished no run yet ({len(runs)} run folders started, "
                          "0 done); run its sweep command again to go on")
    elif kind in ("finished", "point", "unfinished") and (folder / "metrics.json").is_file():  # unfinished: damaged
        from .records import REPORTED, report

        fix = (f"rewrite it from its checkpoint with: python -m s11lib train --resume {folder}"
               if (folder / "checkpoint.pt").exists() else "its checkpoint is gone, so only a new run can replace it")
        print(report(read_record(folder / "metrics.json", REPORTED, fix)))
    elif kind == "point":  # a sweep's run that diverged: its row says how; its weights alone cannot be resumed
        row = read_record(folder / POINT_ROW, ("row",), "run its sweep command again: it trains the point anew")["row"]
        print(f"a sweep's run, {row['point']} seed {row['seed']}: {row['status']}; {row['note']}")
    elif kind == "repeat":
        saved = read_record(folder / REPEATS, ("seeds", "test_accuracy", "median", "mean", "std"),
                            "run its train --repeat command again: it rewrites it from the seeds' runs")
        print(f"{len(saved['seeds'])} seeds: test accuracy {', '.join(f'{a:.2f}' for a in saved['test_accuracy'])}; "
              f"median {saved['median']:.2f}%, mean {saved['mean']:.2f}%, std {saved['std']:.2f}")
    elif kind == "range-test":
        found = read_record(folder / "lr_finder.json", ("lr_min", "lr_max", "note"),
                            "run find-lr again into this folder with --overwrite")
        print(f"LRMIN {found['lr_min']:.4g}, LRMAX {found['lr_max']:.4g} ({found['note']})")
    elif kind == "runs":
        print(tries.table(folder))
    elif kind == "unfinished":
        raise ConfigError(unfinished_line(folder))
    elif kind == "repeat-unfinished":
        raise ConfigError(f"{folder} holds a train --repeat run that has not finished (no {REPEATS} yet); run its "
                          "train --repeat command again to go on")
    elif not any(p for p in folder.iterdir() if not p.name.startswith(".")):
        raise ConfigError(f"{folder} is an empty folder: no sweep or run has written into it")
    else:
        raise ConfigError(f"{folder} holds no sweep, run or range test that summary reads")


def last_line(line: str) -> None:
    """A command's last line: its work is done and written, so a Ctrl-C from here on is ignored
    (until the exit, or until ``main`` or ``api_call`` restores the handler when called in-process):
    a late one landed in the teardown and printed a traceback or a wrong "interrupted" line."""
    if threading.current_thread() is threading.main_thread():  # only there can a handler be set
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    print(line)


def api_call(command, *args, **kwargs):
    """A command called from Python (``s11lib.train`` and the others): the same function the command
    line calls, with Ctrl-C's handler restored afterwards, so the caller's Ctrl-C keeps working."""
    main = threading.current_thread() is threading.main_thread()
    ctrl_c = signal.getsignal(signal.SIGINT) if main else None
    try:
        with voice.speaking(voice.PYTHON):  # refusals say overwrite=True, not --overwrite
            return command(*args, **kwargs)
    finally:
        if main:
            signal.signal(signal.SIGINT, ctrl_c)
