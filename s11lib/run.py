"""One run of the recipe, step by step: the job that ``python -m s11lib train`` and the notebook
both follow.

    state = prepare(cfg)                      # data, loaders, a fresh model
    search = find_lrs(state)                  # the range test(s), when an LR is not given
    lr_min, lr_max = choose_lrs(cfg, search)  # refuses a pair the range test cannot vouch for
    fitted = fit(state, lr_min, lr_max)       # one cycle, a checkpoint after each epoch if asked
    results = analyse(state, fitted)          # flip TTA, confusion, the worst mistakes
    metrics(state, fitted, results)           # metrics.json's content
    explain(state, results)                   # GradCAM maps of the mistakes
    figures.FIGURES["accuracy.png"](state, fitted, results)  # ... each figure (figures.py)

``train_job`` runs them all into an output folder. No step imports the CLI.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from datetime import datetime, timezone
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import checkpoint, figures, plots, provenance, voice
from .figures import lr_source
from .config import CLASSES, Config, ConfigError, Diverged, InputError, Interrupted
from .datasets import Cifar10, load_cifar10
from .engine import (Diverging, at_chance, autocast_dtype, build_model, evaluate, flip_tta_accuracy, precision_note,
                     start_run)
from .engine import fit as fit_cycle
from .gradcam import gradcam, overlay
from .loaders import DeviceLoader, loader_state, make_loaders, set_loader_state
from .lr_finder import find_lrs as run_range_tests
from .lr_rules import PAGES_PEAK, FoundLR, LRSearch, median_pair, read_curve
from .mistakes import (Misclassified, confusion_matrix, find_misclassified, most_confused, per_class_accuracy,
                       per_class_table)
from .model import count_parameters
from .outputs import RunFolder, claimed, csv_text, finished, range_test_differences, saved_config, unfinished
from .requirements import check_torchvision



class UntrustedLRs(InputError):
    """The range test could not read the curve, and no LR was given in its place."""


@dataclass
class State:
    """What the steps share: the recipe, the device, the data and its loaders, the model."""

    cfg: Config
    device: torch.device
    data: Cifar10
    train_loader: object
    test_loader: object
    model: nn.Module
    data_seconds: float
    search: LRSearch | None = None  # the range test(s) of this config, run (or read back) in this process
    lr_finder: dict | None = None  # what they found, as checkpoints and metrics.json keep it: rule, note, warnings
    finder_seconds: float = 0.0
    starts: list[dict] = field(default_factory=list)  # each start and resume of the run: epoch, time, code, machine


@dataclass
class Results:
    """What ``analyse`` finds in a trained model's last evaluation."""

    tta: float  # test accuracy (percent) with flip TTA
    confusion: np.ndarray
    per_class: dict[str, float]
    confused: list[tuple[str, str, int]]
    mistakes: Misclassified
    cams: dict[str, np.ndarray] = field(default_factory=dict)  # "predicted", "true": overlays of the mistakes


def prepare(cfg: Config, data: Cifar10 | None = None) -> State:
    """Check torchvision, seed the run, read the data (unless given), build its loaders and a fresh model."""
    check_torchvision()
    device = start_run(cfg)
    t0 = time.perf_counter()
    data = data or load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    train_loader, test_loader = make_loaders(data, cfg, device)
    return State(cfg, device, data, train_loader, test_loader, build_model(cfg, device), time.perf_counter() - t0)


def restart(state: State) -> State:
    """A fresh start on the same data (re-seeded: new loaders, a new model), the range test's result kept:
    rerunning training gives the same run again, not a continuation."""
    fresh = prepare(state.cfg, state.data)
    return dataclasses.replace(fresh, data_seconds=state.data_seconds, search=state.search, lr_finder=state.lr_finder,
                               finder_seconds=state.finder_seconds, starts=state.starts)


def find_lrs(state: State) -> LRSearch:
    """``cfg.finder_repeat`` range tests on ``state``'s model and loader (the model comes back unchanged,
    the loader's streams do not); kept in ``state.search`` with how long they took."""
    t0 = time.perf_counter()
    search = run_range_tests(state.model, state.cfg, state.train_loader, state.device)
    use_search(state, dataclasses.replace(search, seconds=time.perf_counter() - t0))
    return state.search


def use_search(state: State, search: LRSearch) -> None:
    """Keep ``search`` (a range test of ``state.cfg``) as the run's: what checkpoints and metrics.json record."""
    state.search, state.finder_seconds = search, search.seconds
    state.lr_finder = {"rule": state.cfg.lr_rule, "note": search.note, "warnings": list(search.warnings),
                       "lr_min": [t.lr_min for t in search.tests], "lr_max": [t.lr_max for t in search.tests]}


def choose_lrs(cfg: Config, search: LRSearch | None) -> tuple[float, float]:
    """The pair to train at: the given LRs, else the range test's.

    Raises:
        UntrustedLRs: an LR would come from a range test that could not read its curve.
        ConfigError: a given LR and a found one are the wrong way round.
    """
    if cfg.min_lr is not None and cfg.max_lr is not None:
        return cfg.min_lr, cfg.max_lr
    if search is None:
        raise ValueError("choose_lrs needs the range test's result when an LR is not given")
    if not search.trusted:
        shown = "; ".join(dict.fromkeys(t.note for t in search.tests if not t.trusted))
        raise UntrustedLRs(f"the LR range test cannot be trusted ({shown}), so nothing was trained: {voice.say('lrs')} "
                           f"({PAGES_PEAK})")
    lr_min = FoundLR(search.lr_min, search, cfg) if cfg.min_lr is None else cfg.min_lr
    lr_max = FoundLR(search.lr_max, search, cfg) if cfg.max_lr is None else cfg.max_lr
    if lr_min >= lr_max:
        found, given = (("LRMAX", search.lr_max), ("min-lr", cfg.min_lr)) if cfg.min_lr is not None else \
            (("LRMIN", search.lr_min), ("max-lr", cfg.max_lr))
        relation = "above" if found[0] == "LRMAX" else "below"
        raise ConfigError(f"the range test found {found[0]} {found[1]:.4g}, not {relation} the given {given[0]} "
                          f"{given[1]:.4g}; {voice.say('lrs both')}")
    return lr_min, lr_max


def fit(state: State, lr_min: float, lr_max: float, *, on_epoch=None, resume: dict | None = None) -> dict:
    """Train ``state.model`` through one cycle (``engine.fit``); returns its history, the LR of each
    batch, the last evaluation's outputs, and the pair ("lr_min", "lr_max")."""
    fitted = fit_cycle(state.model, state.train_loader, state.test_loader, state.cfg, state.device, lr_min=lr_min,
                       lr_max=lr_max, on_epoch=on_epoch, resume=resume)
    return {**fitted, "lr_min": lr_min, "lr_max": lr_max}


def analyse(state: State, fitted: dict) -> Results:
    """Flip TTA, the confusion matrix and the worst mistakes of the last evaluation (no second pass)."""
    cfg = state.cfg
    outputs = fitted["test_outputs"]  # of the evaluation that gave the last test accuracy, in its precision
    confusion = confusion_matrix(state.data.test.labels, outputs["preds"])
    mis = find_misclassified(state.data.test, outputs, spread=cfg.misclassified_by_class)
    return Results(flip_tta_accuracy(state.model, state.test_loader, cfg, state.device), confusion,
                   per_class_accuracy(confusion), most_confused(confusion), mis)


def explain(state: State, results: Results) -> Results:
    """GradCAM maps of the worst mistakes, for the predicted and for the true class, into ``results.cams``."""
    mis = results.mistakes
    for target, classes in (("predicted", mis.preds), ("true", mis.labels)):
        results.cams[target] = overlay(mis.images, gradcam(state.model, mis.images, classes, state.device,
                                                           layer=state.cfg.gradcam_layer))
    return results


def start_record(epoch: int, device: torch.device, code: dict | None = None) -> dict:
    """One start (``epoch`` 0) or resume (after ``epoch``) of a run: when, the code (this checkout's, or
    ``code``: a Ray driver's) and the machine."""
    return {"epoch": epoch, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **(code or provenance.code()), **provenance.machine(device)}


PROVENANCE = ("s11lib_version", "commit", "torch_version", "device_name", "threads")  # metrics.json's, from the last start


def metrics(state: State, fitted: dict, results: Results) -> dict:
    """metrics.json's content: the headline numbers, timings, LRs, what the model got wrong, and the code
    and machine that finished the run (every start and resume in "starts")."""
    history, cfg, device, found = fitted["history"], state.cfg, state.device, state.lr_finder
    last = history[-1]
    starts = state.starts or [start_record(0, device)]
    return {
        "test_accuracy": last["test_acc"], "best_test_accuracy": max(r["test_acc"] for r in history),
        "test_accuracy_tta": results.tta,  # the final model, scored on each image and its mirror (not a second run)
        "train_accuracy": last["train_acc"], "test_loss": last["test_loss"], "epochs": cfg.epochs,
        "warnings": [w for w in [at_chance(last["test_acc"], last["test_loss"], len(CLASSES))] if w],
        "train_seconds": fitted["train_seconds"], "eval_seconds": fitted["eval_seconds"],
        "lr_finder_seconds": state.finder_seconds, "data_seconds": state.data_seconds, "min_lr": fitted["lr_min"],
        "max_lr": fitted["lr_max"], "lr_rule": found["rule"] if found else None,  # None: the pair was given
        "lr_finder_note": found["note"] if found else None, "lr_finder_warnings": found["warnings"] if found else [],
        "params": count_parameters(state.model),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "data": state.data.source, "train_images": len(state.data.train), "test_images": len(state.data.test),
        "augment": cfg.augment, "seed": cfg.seed, "compile": cfg.compile, "schedule": cfg.schedule,
        "precision": str(autocast_dtype(cfg.precision, device) or torch.float32).removeprefix("torch."),
        "precision_note": precision_note(cfg.precision, device),  # why: asked, or what auto read off the device
        "per_class_accuracy": results.per_class,  # percent of each class's test images predicted right
        "most_confused": [{"true": t, "predicted": p, "count": n} for t, p, n in results.confused],
        "confusion_matrix": results.confusion.tolist(),  # rows: true class, columns: predicted class (CLASSES order)
        **{k: starts[-1][k] for k in PROVENANCE}, "starts": starts,
    }


REPORTED = ("test_accuracy", "best_test_accuracy", "test_accuracy_tta", "epochs", "train_seconds", "min_lr", "max_lr",
            "lr_rule", "per_class_accuracy", "most_confused")  # what ``report`` reads of metrics.json


def report(m: dict) -> str:
    """The lines a finished run prints: the headline accuracy, where its LRs came from, then per-class
    accuracy and the confusions (all from metrics.json's content)."""
    confused = [(c["true"], c["predicted"], c["count"]) for c in m["most_confused"]]
    return (f"test accuracy {m['test_accuracy']:.2f}% (best {m['best_test_accuracy']:.2f}%, "
            f"with flip TTA {m['test_accuracy_tta']:.2f}%), {m['epochs']} epochs, training {m['train_seconds']:.1f}s; "
            f"LRMIN {m['min_lr']:.4g}, LRMAX {m['max_lr']:.4g}, {lr_source(m['lr_rule'])}\n"
            + per_class_table(m["per_class_accuracy"], confused))


def write_search(folder: RunFolder, cfg: Config, search: LRSearch, **extra) -> None:
    """The range test's files, lr_finder.png and lr_finder.json (the pair, how it was read, how long it took,
    and every test's raw curve: lrs and losses per batch), with ``extra`` keys in the JSON."""
    folder.write("lr_finder.png", figures.lr_figure(search))
    folder.write("lr_finder.json", text=json.dumps({
        "lr_min": search.lr_min, "lr_max": search.lr_max, "rule": cfg.lr_rule, "trusted": search.trusted,
        "note": search.note, "warnings": list(search.warnings), "batch_size": cfg.batch_size,
        "seconds": search.seconds, **extra,
        "tests": [{"seed": t.seed, "lr_min": t.lr_min, "lr_max": t.lr_max, "note": t.note,
                   "lrs": t.lrs.tolist(), "losses": t.losses.tolist()} for t in search.tests]}, indent=1))


def read_search(path: Path, rule: str | None = None) -> LRSearch:
    """A range test back from its lr_finder.json: every curve read again with ``rule``, by default the rule
    it was read with (every rule is a function of the saved curve alone)."""
    saved = json.loads(Path(path).read_text())
    tests = [dataclasses.replace(read_curve(t["lrs"], t["losses"], rule or saved["rule"]), seed=t["seed"])
             for t in saved["tests"]]
    return dataclasses.replace(median_pair(tests), seconds=saved.get("seconds", 0.0))


def saved_search(folder: Path, cfg: Config) -> LRSearch:
    """The range test ``folder`` holds (``find-lr``'s, or a run's), read back for a run of ``cfg``: the
    same pair as a range test run here would find, without running one. A test read with another rule
    is the same curve: it is read again with ``cfg.lr_rule``, and its note says so.

    Raises:
        InputError: the folder holds none, holds one of other settings (named), or one this version's
            rules read otherwise.
    """
    folder = Path(folder)
    saved = saved_config(folder)
    if saved is None or not (folder / "lr_finder.json").is_file():
        raise InputError(f"{folder} holds no range test (config.json and lr_finder.json, as find-lr writes them)")
    differ = range_test_differences(saved, cfg, curve_only=True)
    if differ:
        raise InputError(f"the range test in {folder} ran with other settings ("
                         + ", ".join(f"{k} {getattr(saved, k)!r} there, {getattr(cfg, k)!r} here" for k in differ)
                         + "): run find-lr with this run's settings, or leave --lr-from out to run one here")
    try:
        search, recorded = read_search(folder / "lr_finder.json"), json.loads((folder / "lr_finder.json").read_text())
    except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged or foreign file
        raise InputError(f"{folder / 'lr_finder.json'} cannot be read ({e.__class__.__name__}: {e}): run find-lr "
                         "again") from None
    if (search.lr_min, search.lr_max, search.trusted) != (recorded["lr_min"], recorded["lr_max"], recorded["trusted"]):
        raise InputError(f"the range test in {folder} reads otherwise with this version's rules (LRMAX "
                         f"{recorded['lr_max']:.4g} there, {search.lr_max:.4g} now): run find-lr again")
    if cfg.lr_rule != recorded["rule"]:  # the same curve, read by another rule: no second test
        again = read_search(folder / "lr_finder.json", cfg.lr_rule)
        return dataclasses.replace(again, note=f"{again.note} (the {cfg.lr_rule} rule, read from the saved curve of "
                                               f"{folder}, which the {recorded['rule']} rule had read)")
    return search


# ---------------------------------------------------------------------------------------
# The whole job into a folder


def train_job(cfg: Config, folder: RunFolder, data: Cifar10 | None = None, resume: dict | None = None, *,
              light: bool = False, search: LRSearch | None = None, code: dict | None = None) -> dict:
    """Every step into ``folder``; returns metrics.json's content.

    ``light`` (a sweep's point) skips what only a single run needs: the augmented samples, the
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
        m, said = _job(cfg, folder, data, resume, progress, light, search, code)
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
    written = f"; {', '.join(folder.written)} written to {out}" if folder.written else "; nothing was written"
    if progress["epoch"] == cfg.epochs:
        return (f"{said}; training had finished: {out / 'checkpoint.pt'} holds all {cfg.epochs} epochs; "
                f"{voice.say('score', out=out)}")
    if progress["epoch"]:
        return (f"{said}; {out / 'checkpoint.pt'} holds epoch {progress['epoch']} of {cfg.epochs}; "
                f"{voice.say('resume', out=out)}")
    return f"{said}; no epoch had finished, so nothing was kept: {voice.say('again')}"


def _job(cfg: Config, folder: RunFolder, data: Cifar10 | None, resume: dict | None, progress: dict,
         light: bool, search: LRSearch | None, code: dict | None) -> tuple[dict, str]:
    progress["doing"] = "reading the data"
    state = prepare(cfg, data)
    state.starts = [*(resume or {}).get("starts", []), start_record(progress["epoch"], state.device, code)]
    print(f"data: {state.data.source}: {len(state.data.train)} train / {len(state.data.test)} test images; "
          f"device: {state.device} ({state.starts[-1]['device_name']}), {precision_note(cfg.precision, state.device)}")
    if resume is not None:
        lr_min, lr_max = _restore(state, resume, folder)
    else:
        folder.write("config.json", text=cfg.to_json())
        if not light:
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
        if light and name not in figures.CURVE_FIGURES:
            continue
        if name == figures.GRADCAM_FIGURES[0]:
            progress["doing"] = "drawing GradCAM maps"
            explain(state, results)
        folder.write(name, draw(state, fitted, results))
    folder.write("metrics.json", text=json.dumps(m, indent=2))  # last: a run is finished once all its outputs are there
    for warning in m["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    said = report(m)
    return m, said.splitlines()[0] if light else said


def _lrs(state: State, folder: RunFolder, progress: dict) -> tuple[float, float]:
    """The range test(s) for the LRs not given (unless ``state`` holds them already): plotted, warned
    about, checked; returns the pair."""
    cfg = state.cfg
    if cfg.min_lr is not None and cfg.max_lr is not None:
        return cfg.min_lr, cfg.max_lr
    ran_here = state.search is None  # else read back or run by the caller, who has said its pair
    if ran_here:
        progress["doing"] = "running the LR range test"
        find_lrs(state)
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
    return f"{e}; {where}. Try a lower --max-lr"


def write_history(folder: RunFolder, history: list[dict]) -> None:
    folder.write("history.csv", text=csv_text(history, list(history[0])))


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


def seed_job(cfg: Config, seed_dir: Path, data: Cifar10, *, overwrite: bool = False, light: bool = False,
             code: dict | None = None) -> dict:
    """The whole job of one seed in ``seed_dir``, going on where it stopped: a finished run of
    ``cfg`` there is kept, an interrupted one resumed, anything else trained; returns its metrics."""
    done = finished(seed_dir, cfg)
    if done is not None:
        print(f"seed {cfg.seed}: kept the finished run in {seed_dir}")
        return done
    ckpt = unfinished(seed_dir, cfg)
    with claimed(seed_dir, overwrite=overwrite, resume=ckpt is not None) as folder:
        m = train_job(cfg, folder, data, resume=ckpt, light=light, code=code)
    print(f"wrote {', '.join(folder.written)} to {folder.path}")
    return m


def repeat_summary(runs: list[dict], read_seconds: float) -> dict:
    import statistics

    acc, tta = [m["test_accuracy"] for m in runs], [m["test_accuracy_tta"] for m in runs]
    return {"seeds": [m["seed"] for m in runs], "test_accuracy": acc, "median": statistics.median(acc),
            "mean": statistics.fmean(acc), "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "min": min(acc), "max": max(acc), "test_accuracy_tta": tta, "median_tta": statistics.median(tta),
            "train_seconds": [m["train_seconds"] for m in runs], "read_seconds": read_seconds}


def find_lr_job(cfg: Config, folder: RunFolder, data: Cifar10 | None = None) -> LRSearch:
    """The range test(s) alone, on a fresh model and loaders of ``cfg``'s seed, into ``folder``:
    config.json, lr_finder.png and lr_finder.json (curves and picks)."""
    try:
        state = prepare(cfg, data)
        search = find_lrs(state)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while running the LR range test; nothing was written: {voice.say('again')}") from None
    folder.write("config.json", text=cfg.to_json())
    write_search(folder, cfg, search)
    for message in search.warnings:
        print(f"warning: LR range test: {message}", file=sys.stderr)
    print(f"LRMIN {search.lr_min:.4g}\nLRMAX {search.lr_max:.4g}\n({search.note}; "
          f"{sum(len(t.lrs) for t in search.tests)} batches; plot in {folder / 'lr_finder.png'})")
    return search


def gradcam_job(cfg: Config, ckpt: dict, path: Path, out: Path, *, layer: str, target: str) -> None:
    """GradCAM of a checkpoint's worst mistakes on its own test images, drawn into ``out``.

    Only the test split is loaded onto the device: ``prepare`` would also build the training
    loader (with ``--augment gpu``, the whole padded training set on the device) for nothing.
    """
    doing = "reading the data"
    try:
        device = start_run(cfg)
        model = build_model(cfg, device)
        checkpoint.load_weights(model, ckpt, path)
        data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)  # the test images the run scored
        doing = "scoring the test set"
        outputs = evaluate(model, DeviceLoader(data.test, cfg.batch_size, device, train=False), nn.CrossEntropyLoss(),
                           device, dtype=autocast_dtype(cfg.precision, device), keep_outputs=True)["outputs"]
        mis = find_misclassified(data.test, outputs, spread=cfg.misclassified_by_class)
        doing = "drawing GradCAM maps"
        targets = ("predicted", "true") if target == "both" else (target,)
        cams = {t: overlay(mis.images, gradcam(model, mis.images, mis.preds if t == "predicted" else mis.labels,
                                               device, layer=layer)) for t in targets}
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {doing}; nothing was written") from None
    if target == "both":
        fig = plots.gradcam_pairs(cams["predicted"], cams["true"], mis.labels, mis.preds, mis.probs, layer=layer)
    else:
        fig = plots.misclassified(cams[target], mis.labels, mis.preds, mis.probs,
                                  title=f"GradCAM ({layer}) for the {target} class, {figures.order(cfg)}")
    plots.save(fig, out, close=True)
    wrong = int((outputs["preds"] != data.test.labels).sum())
    print(f"wrote {out} (the {len(mis.labels)} worst of the {wrong} misclassified test images, of {len(data.test)}, "
          f"from {data.source})")
