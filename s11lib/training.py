"""The train job: every step of a run into its folder (``train_job``), a checkpoint after every epoch, and
what an interrupt or a blow-up leaves and says; ``seed_job`` and ``repeat_job`` run it for one seed or
several on data read once."""

from __future__ import annotations

import dataclasses
import json
import statistics
import sys
import time
from pathlib import Path

from . import checkpoint, figures, voice
from .config import Config, Diverged, Interrupted
from .datasets import Cifar10, load_cifar10
from .engine import Diverging, precision_note
from .gradcam import explain
from .loaders import loader_state, set_loader_state
from .lr_rules import LRSearch
from .outputs import RunFolder, claimed, finished, unfinished
from .range_tests import choose_lrs, search_lrs, use_search, write_search
from .records import metrics, report, start_record, write_history
from .steps import State, analyse, fit, prepare, restart


def train_job(cfg: Config, folder: RunFolder, data: Cifar10 | None = None, resume: dict | None = None, *,
              curves_only: bool = False, search: LRSearch | None = None, code: dict | None = None) -> dict:
    """Every step into ``folder``; returns metrics.json's content.

    ``curves_only`` (a sweep's point) skips what only a single run needs: the augmented samples, the
    mistakes figures and the GradCAM maps; the rest (history, metrics, the schedule and the
    curves) is the same, number for number. ``search``: a range test of ``cfg`` already run (the
    notebook's), used and written instead of running one. ``code``: the code to record (a Ray
    driver's; by default this checkout's, ``provenance.code``).

    A resume of a checkpoint that holds every epoch (the run stopped while scoring or drawing)
    scores, writes and draws what the run had not.

    A checkpoint is written (atomically) after every epoch. A run that fails before its
    first epoch was kept removes what it wrote, so the same command can simply be run again.

    Raises:
        Interrupted: Ctrl-C or SIGTERM (the message says what was kept and how to go on).
        Diverged: the run blew up (``engine.divergence``).
    """
    progress = {"doing": "starting", "epoch": resume["epoch"] if resume is not None else 0}
    try:
        m, said = _train(cfg, folder, data, resume, progress, curves_only, search, code)
    except KeyboardInterrupt:
        message = interrupt_message(cfg, folder, progress)
        _discard_if_nothing_kept(folder, progress, resume)
        raise Interrupted(message) from None
    except BaseException:  # bad input found late, a diverged first epoch, a crash: no half-made run stays
        _discard_if_nothing_kept(folder, progress, resume)
        raise
    print(said)
    return m


def _discard_if_nothing_kept(folder: RunFolder, progress: dict, resume: dict | None) -> None:
    if resume is None and not progress["epoch"]:
        folder.discard()


def interrupt_message(cfg: Config, folder: RunFolder, progress: dict) -> str:
    """What an interrupt stopped, what it left in the folder and how to go on."""
    out = folder.path
    said = f"interrupted while {progress['doing']}"
    if progress["epoch"] == cfg.epochs:
        return (f"{said}; training had finished: {out / 'checkpoint.pt'} holds all {cfg.epochs} epochs; "
                f"{voice.say('score', out=out)}")
    if progress["epoch"]:
        return (f"{said}; {out / 'checkpoint.pt'} holds epoch {progress['epoch']} of {cfg.epochs}; "
                f"{voice.say('resume', out=out)}")
    return f"{said}; no epoch had finished, so nothing was kept: {voice.say('again')}"


def _train(cfg: Config, folder: RunFolder, data: Cifar10 | None, resume: dict | None, progress: dict,
         curves_only: bool, search: LRSearch | None, code: dict | None) -> tuple[dict, str]:
    progress["doing"] = "reading the data"
    state = prepare(cfg, data)
    state.starts = [*(resume or {}).get("starts", []), start_record(progress["epoch"], state.device, code)]
    print(f"data: {state.data.source}: {len(state.data.train)} train / {len(state.data.test)} test images; "
          f"device: {state.device} ({state.starts[-1]['device_name']}), {precision_note(cfg.precision, state.device)}")
    if resume is not None:
        lr_min, lr_max = _restore(state, resume, folder)
    else:
        folder.write("config.json", text=cfg.to_json())
        if not curves_only:
            progress["doing"] = "drawing augmented samples"
            folder.write("augmented.png", figures.augmented_figure(state))
        ran_here = search is None
        if search is not None and (cfg.min_lr is None or cfg.max_lr is None):
            use_search(state, search)
        lr_min, lr_max = _lrs(state, folder, progress)
        if state.search is not None and ran_here:  # train as if the LRs had been given: the range test leaves no trace
            state = restart(state)

    progress["doing"] = "training"
    try:
        fitted = fit(state, lr_min, lr_max, on_epoch=_checkpointer(state, folder, progress, lr_min, lr_max),
                     resume=resume)
    except Diverging as e:
        raise Diverged(diverged_message(e, folder, progress)) from None
    progress["doing"] = "scoring the final model with flip TTA"
    results = analyse(state, fitted)
    progress["doing"] = "writing the history, metrics and figures"
    write_history(folder, fitted["history"])
    m = metrics(state, fitted, results)
    for name, draw in figures.FIGURES.items():
        if curves_only and name not in figures.CURVE_FIGURES:
            continue
        if name == figures.GRADCAM_FIGURES[0]:
            progress["doing"] = "drawing GradCAM maps"
            explain(state, results)
        folder.write(name, draw(state, fitted, results))
    folder.write("metrics.json", text=json.dumps(m, indent=2))  # last: a run is finished once all its outputs are there
    for warning in m["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    said = report(m)
    return m, said.splitlines()[0] if curves_only else said


def _lrs(state: State, folder: RunFolder, progress: dict) -> tuple[float, float]:
    """The range test(s) for the LRs not given (unless ``state`` holds them already): plotted, warned
    about, checked; returns the pair."""
    cfg = state.cfg
    if cfg.min_lr is not None and cfg.max_lr is not None:
        return cfg.min_lr, cfg.max_lr
    ran_here = state.search is None  # else read back or run by the caller, who has said its pair
    if ran_here:
        progress["doing"] = "running the LR range test"
        search_lrs(state)
    search = state.search
    write_search(folder, cfg, search)
    lr_min, lr_max = choose_lrs(cfg, search)  # an untrusted curve stops the run here, with what it showed
    if ran_here:
        for message in search.warnings:
            print(f"warning: LR range test: {message}", file=sys.stderr)
        print(f"LR range test ({sum(len(t.lrs) for t in search.tests)} batches, {state.finder_seconds:.1f}s): "
              f"LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g} ({search.note})")
    return float(lr_min), float(lr_max)  # plain numbers from here on: checkpoints hold no FoundLR


def _restore(state: State, resume: dict, folder: RunFolder) -> tuple[float, float]:
    """Load a checkpoint's weights, LRs and random states into ``state``; returns its pair."""
    checkpoint.load_weights(state.model, resume, folder / "checkpoint.pt")
    state.finder_seconds = resume["lr_finder_seconds"]
    state.lr_finder = resume.get("lr_finder")
    set_loader_state(state.train_loader, resume["loader"])
    checkpoint.set_rng_state(resume["rng"])
    print(f"resuming after epoch {resume['epoch']} of {state.cfg.epochs} "
          f"(LRMIN {resume['lr_min']:.4g}, LRMAX {resume['lr_max']:.4g})")
    return resume["lr_min"], resume["lr_max"]


def _checkpointer(state: State, folder: RunFolder, progress: dict, lr_min: float, lr_max: float):
    """``fit``'s on_epoch: the whole run's state into folder/checkpoint.pt, atomically."""
    def save(snapshot: dict) -> None:
        checkpoint.atomic_save({"format": checkpoint.FORMAT, "config": state.cfg.to_dict(),
                                "model": state.model.state_dict(), "lr_min": lr_min, "lr_max": lr_max,
                                "lr_finder_seconds": state.finder_seconds, "lr_finder": state.lr_finder,
                                "loader": loader_state(state.train_loader), "rng": checkpoint.rng_state(),
                                "starts": state.starts, **snapshot}, folder / "checkpoint.pt")
        progress["epoch"] = snapshot["epoch"]  # only once the file holds it
        folder.wrote("checkpoint.pt")
    return save


def diverged_message(e: Diverging, folder: RunFolder, progress: dict) -> str:
    """How the run blew up, and which checkpoint (if any) holds its last healthy epoch (a diverged epoch is never kept)."""
    kept = progress["epoch"]
    where = f"the last good checkpoint (epoch {kept}) is {folder / 'checkpoint.pt'}" if kept else \
        "no epoch finished, so there is no checkpoint"
    return f"{e}; {where}. {voice.say('lower')}"


def repeat_job(cfg: Config, folder: RunFolder, repeat: int, overwrite: bool = False) -> dict:
    """``repeat`` seeds of the whole job on data read once, into folder/seed-S; writes repeats.json.

    An interrupted ``--repeat`` goes on where it stopped when the same command runs again: a
    seed whose folder holds a finished run of the same config is kept, one that holds a
    checkpoint of it is resumed.
    """

    t0 = time.perf_counter()
    try:
        data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    except KeyboardInterrupt:
        raise Interrupted("interrupted while reading the data; nothing was written") from None
    read_seconds = time.perf_counter() - t0  # once for all seeds; each run's data_seconds is then its loaders only
    print(f"data read once for {repeat} seeds in {read_seconds:.1f}s")
    runs = [seed_job(dataclasses.replace(cfg, seed=cfg.seed + i), folder / f"seed-{cfg.seed + i}", data,
                     overwrite=overwrite) for i in range(repeat)]
    summary = repeat_summary(runs, read_seconds)
    folder.write("repeats.json", text=json.dumps(summary, indent=2))
    return summary


def seed_job(cfg: Config, seed_dir: Path, data: Cifar10, *, overwrite: bool = False, curves_only: bool = False,
             code: dict | None = None) -> dict:
    """The whole job of one seed in ``seed_dir``, going on where it stopped: a finished run of
    ``cfg`` there is kept, an interrupted one resumed, anything else trained; returns its metrics."""
    done = finished(seed_dir, cfg)
    if done is not None:
        print(f"seed {cfg.seed}: kept the finished run in {seed_dir}")
        return done
    ckpt = unfinished(seed_dir, cfg)
    with claimed(seed_dir, overwrite=overwrite, resume=ckpt is not None) as folder:
        m = train_job(cfg, folder, data, resume=ckpt, curves_only=curves_only, code=code)
    print(f"wrote {', '.join(folder.written)} to {folder.path}")
    return m


def repeat_summary(runs: list[dict], read_seconds: float) -> dict:
    acc, tta = [m["test_accuracy"] for m in runs], [m["test_accuracy_tta"] for m in runs]
    return {"seeds": [m["seed"] for m in runs], "test_accuracy": acc, "median": statistics.median(acc),
            "mean": statistics.fmean(acc), "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "min": min(acc), "max": max(acc), "test_accuracy_tta": tta, "median_tta": statistics.median(tta),
            "train_seconds": [m["train_seconds"] for m in runs], "read_seconds": read_seconds}
