"""``python -m s11lib <command>``: train, find-lr, zigzag, gradcam, summary.

Flags are generated from ``Config``'s fields (help text from their comments), so a flag
cannot drift from the field it sets. Arguments are parsed and checked before torch and the
other heavy libraries are imported, so ``--help`` and a typo answer at once. Bad input exits
with status 2 and one ``error:`` line; every command checks (or creates) where it will
write before it starts working.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import inspect
import json
import re
import signal
import sys
import tempfile
import time
import types
import typing
from pathlib import Path

from . import config as config_module
from .config import Config, ConfigError, InputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs into one folder are then not kept apart
    fcntl = None

# Files `train` can write into --out, in the order they appear.
TRAIN_OUTPUTS = ("config.json", "augmented.png", "lr_finder.png", "checkpoint.pt", "history.csv", "one_cycle.png",
                 "accuracy.png", "loss.png", "metrics.json", "confusion.png", "misclassified.png", "gradcam.png",
                 "gradcam_pairs.png")
RUN_FILES = ("config.json", "checkpoint.pt", "history.csv", "metrics.json", "repeats.json")  # a folder with one holds a run
LOCK = ".s11lib.lock"

EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130
# with --resume the run's own config is used; only these may still be given
RESUME_OVERRIDES = ("device", "workers", "progress")
GRADCAM_TARGETS = ("predicted", "true", "both")


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run; the message says what was interrupted, what was kept and how to go on."""


class Diverged(Exception):
    """The loss became NaN or infinite; the message says where and what was kept."""


# ---------------------------------------------------------------------------------------
# Flags from the config


def _field_help() -> dict[str, str]:
    """Each Config field's trailing comment, read from the source."""
    src = inspect.getsource(Config)
    return {m[1]: m[2].strip() for m in re.finditer(r"^    (\w+): [^#\n]*#\s*(.*)$", src, flags=re.M)}


def _scalar_type(hint) -> type:
    """int | None -> int; int -> int."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint


def add_config_flags(parser: argparse.ArgumentParser) -> None:
    hints, helps = typing.get_type_hints(Config), _field_help()
    for f in dataclasses.fields(Config):
        flag, kind = "--" + f.name.replace("_", "-"), _scalar_type(hints[f.name])
        text = f"{helps.get(f.name, '')} (default: {f.default})".strip()
        if kind is bool:
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=argparse.SUPPRESS, help=text)
        else:
            parser.add_argument(flag, type=kind, default=argparse.SUPPRESS, choices=f.metadata.get("choices"),
                                metavar=None if "choices" in f.metadata else kind.__name__.upper(), help=text)


def config_from_args(args: argparse.Namespace, base: Config | None = None) -> Config:
    names = {f.name for f in dataclasses.fields(Config)}
    changes = {k: v for k, v in vars(args).items() if k in names}
    return dataclasses.replace(base, **changes) if base is not None else Config(**changes)


def out_path(text: str) -> Path:
    """argparse type for --out: a path that names something (``--out ""`` would mean the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder or file, not an empty string")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: a mistyped flag such as --epoch fails instead of silently meaning --epochs
    parser = argparse.ArgumentParser(prog="python -m s11lib", description=__doc__.split("\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", allow_abbrev=False, help="range test, one-cycle training, GradCAM; writes every figure and metric")
    p.add_argument("--out", type=out_path, help="output folder (required unless --resume)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue the run in DIR (or DIR/checkpoint.pt) from its last checkpoint, with its own config")
    p.add_argument("--overwrite", action="store_true", help="replace the run an --out folder already holds")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="train N seeds (seed, seed+1, ...) into OUT/seed-S on data read once, and report median, "
                        "mean and spread in OUT/repeats.json")
    add_config_flags(p)

    p = sub.add_parser("find-lr", allow_abbrev=False, help="the LR range test alone; prints LRMIN and LRMAX")
    p.add_argument("--out", required=True, type=out_path, help="output folder (lr_finder.png, lr_finder.json)")
    add_config_flags(p)

    p = sub.add_parser("zigzag", allow_abbrev=False, help="plot the triangular cyclic LR")
    p.add_argument("--out", required=True, type=out_path, help="PNG file")
    p.add_argument("--lr-min", type=float, default=1e-3)
    p.add_argument("--lr-max", type=float, default=1e-1)
    p.add_argument("--step-size", type=int, default=500, help="iterations from lr-min to lr-max")
    p.add_argument("--cycles", type=int, default=3)

    p = sub.add_parser("gradcam", allow_abbrev=False, help="GradCAM on the 25 worst misclassified test images of a checkpoint")
    p.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint.pt that train wrote, or its run folder")
    p.add_argument("--data", default=None, help="data source, as for train (default: the checkpoint's; its --subset applies)")
    p.add_argument("--out", required=True, type=out_path, help="PNG file")
    p.add_argument("--device", default="auto", choices=config_module.DEVICES)
    p.add_argument("--gradcam-layer", default=None, choices=config_module.GRADCAM_LAYERS,
                   help="default: the checkpoint's")
    p.add_argument("--target", default="predicted", choices=GRADCAM_TARGETS,
                   help="the class whose map is drawn: the predicted one, the true one, or both side by side")

    sub.add_parser("summary", allow_abbrev=False, help="the model table: each block's output shape and parameters")
    return parser


# ---------------------------------------------------------------------------------------
# Output folders: made (or refused) before any work, one run at a time


def make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents now and check it takes files; returns the folders created.

    Raises:
        ConfigError: ``folder`` is a file, or cannot be created or written into.
    """
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output folder {folder} is a file; pass a folder")
    missing = [p for p in (folder, *folder.absolute().parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        remove_empty(missing)
        raise ConfigError(f"cannot write into {folder} ({e.strerror or e}); pass a writable folder") from None
    return missing


def remove_empty(folders: list[Path]) -> None:
    """Remove those of ``folders`` (innermost first) that are empty: a refused run leaves nothing behind."""
    for p in folders:
        with contextlib.suppress(OSError):
            p.rmdir()


@contextlib.contextmanager
def claimed(out: Path, *, overwrite: bool = False, resume: bool = False):
    """Hold ``out`` for one run: created, locked against a second run at the same time, and
    refused when it already holds a run (unless resuming it, or ``overwrite``)."""
    created = make_dirs(out)
    try:
        lock = open(out / LOCK, "a")
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                lock.close()
                raise ConfigError(f"another run is writing into {out} right now; wait for it or pass another --out") from None
        try:
            held = [f for f in RUN_FILES if (out / f).exists()]
            if held and not resume:
                if not overwrite:
                    raise ConfigError(f"{out} already holds a run ({', '.join(held)}); continue it with "
                                      f"--resume {out}, replace it with --overwrite, or pass another --out")
                for name in (*TRAIN_OUTPUTS, "repeats.json", "lr_finder.json"):
                    (out / name).unlink(missing_ok=True)
            yield out
        finally:
            (out / LOCK).unlink(missing_ok=True)
            lock.close()
    finally:
        remove_empty(created)


def save_figure(fig_or_ax, path: Path) -> None:
    from . import plots

    plots.save(fig_or_ax, path, close=True)


def warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# Commands


def cmd_train(cfg: Config, out: Path, data=None, resume: dict | None = None, overwrite: bool = False) -> dict:
    """The whole job; returns metrics.json's content.

    Every setting, the output folder and the data path are checked before anything is read.
    A checkpoint is written (atomically) after every epoch.

    Args:
        data: already-read data (``--repeat``), to skip reading it again.
        resume: a checkpoint (``checkpoint.load``) to continue from, in ``out``.
    """
    from .datasets import check_source
    from .engine import start_run

    check_source(cfg.data)
    state = {"doing": "starting", "epoch": resume["epoch"] if resume is not None else 0, "written": []}
    with claimed(out, overwrite=overwrite, resume=resume is not None):
        device = start_run(cfg)
        try:
            return _train(cfg, out, device, data, resume, state)
        except KeyboardInterrupt:
            raise Interrupted(interrupt_message(cfg, out, state)) from None


def interrupt_message(cfg: Config, out: Path, state: dict) -> str:
    """What an interrupt stopped, what it left in ``out`` and how to go on."""
    said = f"interrupted while {state['doing']}"
    written = f"; {', '.join(state['written'])} written to {out}" if state["written"] else "; nothing was written"
    if state["epoch"] == cfg.epochs:
        return (f"{said}; training had finished: {out / 'checkpoint.pt'} holds all {cfg.epochs} epochs{written}. "
                f"Redraw the maps with: python -m s11lib gradcam --checkpoint {out} --out {out / 'gradcam.png'}")
    if state["epoch"]:
        return (f"{said}; {out / 'checkpoint.pt'} holds epoch {state['epoch']} of {cfg.epochs}. "
                f"Resume with: python -m s11lib train --resume {out}")
    return f"{said}; no epoch had finished, so there is nothing to resume{written}"


def _train(cfg: Config, out: Path, device, data, resume: dict | None, state: dict) -> dict:
    import torch

    from . import checkpoint, plots
    from .augment import augmented_samples
    from .datasets import load_cifar10
    from .engine import NonFiniteLoss, autocast_dtype, build_model, fit, flip_tta_accuracy
    from .gradcam import gradcam, overlay
    from .loaders import loader_state, make_loaders, set_loader_state
    from .mistakes import confusion_matrix, find_misclassified, most_confused, per_class_accuracy, per_class_table
    from .model import count_parameters

    def write(name: str, figure=None, text: str | None = None) -> None:
        if figure is not None:
            save_figure(figure, out / name)
        else:
            (out / name).write_text(text)
        state["written"].append(name)

    t0 = time.perf_counter()
    state["doing"] = "reading the data"
    data = data or load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    train_loader, test_loader = make_loaders(data, cfg, device)
    data_seconds = time.perf_counter() - t0
    print(f"data: {data.source}: {len(data.train)} train / {len(data.test)} test images; device: {device}")
    model = build_model(cfg, device)
    lr_min, lr_max, finder_seconds, finder = cfg.min_lr, cfg.max_lr, 0.0, None

    if resume is not None:
        checkpoint.load_weights(model, resume, out / "checkpoint.pt")
        lr_min, lr_max, finder_seconds = resume["lr_min"], resume["lr_max"], resume["lr_finder_seconds"]
        finder = resume.get("lr_finder")
        set_loader_state(train_loader, resume["loader"])
        checkpoint.set_rng_state(resume["rng"])
        print(f"resuming after epoch {resume['epoch']} of {cfg.epochs} (LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g})")
    else:
        write("config.json", text=cfg.to_json())
        state["doing"] = "drawing augmented samples"
        write("augmented.png", plots.augmented(*augmented_samples(data.train, cutout=cfg.cutout, seed=cfg.seed)))
        if lr_min is None or lr_max is None:
            lr_min, lr_max, finder_seconds, finder = _range_test(cfg, model, train_loader, device, state, write)

    def save_checkpoint(snapshot: dict) -> None:
        checkpoint.atomic_save({"format": checkpoint.FORMAT, "config": cfg.to_dict(), "model": model.state_dict(),
                                "lr_min": lr_min, "lr_max": lr_max, "lr_finder_seconds": finder_seconds,
                                "lr_finder": finder, "loader": loader_state(train_loader),
                                "rng": checkpoint.rng_state(), **snapshot}, out / "checkpoint.pt")
        state["epoch"] = snapshot["epoch"]  # only once the file holds it
        if "checkpoint.pt" not in state["written"]:
            state["written"].append("checkpoint.pt")

    state["doing"] = "training"
    try:
        run = fit(model, train_loader, test_loader, cfg, device, lr_min=lr_min, lr_max=lr_max,
                  on_epoch=save_checkpoint, resume=resume)
    except NonFiniteLoss as e:
        kept = (f"the last good checkpoint (epoch {state['epoch']}) is {out / 'checkpoint.pt'}" if state["epoch"]
                else "no epoch finished, so there is no checkpoint")
        raise Diverged(f"{e}; {kept}. Try a lower --max-lr") from None
    history = run["history"]
    state["doing"] = "scoring the final model with flip TTA"
    tta = flip_tta_accuracy(model, test_loader, cfg, device)
    state["doing"] = "writing the history and curves"
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    state["written"].append("history.csv")
    write("one_cycle.png", plots.one_cycle(run["lrs"], len(train_loader), lr_min=lr_min, lr_max=lr_max))
    write("accuracy.png", plots.accuracy(history))
    write("loss.png", plots.loss(history))

    outputs = run["test_outputs"]  # of the evaluation that gave the last test accuracy, in its precision
    confusion = confusion_matrix(data.test.labels, outputs["preds"])
    per_class, confused = per_class_accuracy(confusion), most_confused(confusion)
    last = history[-1]
    metrics = {
        "test_accuracy": last["test_acc"], "best_test_accuracy": max(r["test_acc"] for r in history),
        "test_accuracy_tta": tta,  # the final model, scored on each image and its mirror (not a second run)
        "train_accuracy": last["train_acc"], "test_loss": last["test_loss"], "epochs": cfg.epochs,
        "train_seconds": run["train_seconds"], "eval_seconds": run["eval_seconds"], "lr_finder_seconds": finder_seconds,
        "data_seconds": data_seconds, "min_lr": lr_min, "max_lr": lr_max,
        "lr_finder_note": finder["note"] if finder else None, "lr_finder_warnings": finder["warnings"] if finder else [],
        "params": count_parameters(model),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "data": data.source, "train_images": len(data.train), "test_images": len(data.test),
        "augment": cfg.augment, "seed": cfg.seed, "compile": cfg.compile,
        "precision": str(autocast_dtype(cfg.precision, device) or torch.float32).removeprefix("torch."),
        "per_class_accuracy": per_class,  # percent of each class's test images predicted right
        "most_confused": [{"true": t, "predicted": p, "count": n} for t, p, n in confused],
        "confusion_matrix": confusion.tolist(),  # rows: true class, columns: predicted class (config.CLASSES order)
    }
    write("metrics.json", text=json.dumps(metrics, indent=2))
    write("confusion.png", plots.confusion(confusion))

    state["doing"] = "drawing GradCAM maps"
    mis = find_misclassified(data.test, outputs, spread=cfg.misclassified_by_class)
    order = "the worst of each class in turn" if cfg.misclassified_by_class else "most confident first"
    write("misclassified.png", plots.misclassified(mis.images, mis.labels, mis.preds, mis.probs,
                                                   title=f"Misclassified test images, {order}"))
    predicted = overlay(mis.images, gradcam(model, mis.images, mis.preds, device, layer=cfg.gradcam_layer))
    write("gradcam.png", plots.misclassified(predicted, mis.labels, mis.preds, mis.probs,
                                             title=f"GradCAM ({cfg.gradcam_layer}) for the predicted class"))
    true = overlay(mis.images, gradcam(model, mis.images, mis.labels, device, layer=cfg.gradcam_layer))
    write("gradcam_pairs.png", plots.gradcam_pairs(predicted, true, mis.labels, mis.preds, mis.probs,
                                                   layer=cfg.gradcam_layer))

    print(f"test accuracy {metrics['test_accuracy']:.2f}% (best {metrics['best_test_accuracy']:.2f}%, "
          f"with flip TTA {metrics['test_accuracy_tta']:.2f}%), training {metrics['train_seconds']:.1f}s")
    print(per_class_table(per_class, confused))
    print(f"wrote {', '.join(state['written'])} to {out}")
    return metrics


def _range_test(cfg: Config, model, train_loader, device, state: dict, write):
    """The LR range test for the LRs not given; returns (lr_min, lr_max, seconds, what it found)."""
    from . import plots
    from .lr_finder import find_lrs

    state["doing"] = "running the LR range test"
    t0 = time.perf_counter()
    rt = find_lrs(model, cfg, train_loader, device)
    seconds = time.perf_counter() - t0
    write("lr_finder.png", plots.lr_range(rt.lrs, rt.losses, rt.smoothed, rt.lr_min, rt.lr_max))
    for message in rt.warnings:
        warn(f"LR range test: {message}")
    lr_min = rt.lr_min if cfg.min_lr is None else cfg.min_lr
    lr_max = rt.lr_max if cfg.max_lr is None else cfg.max_lr
    if lr_min >= lr_max:
        found, given = (("LRMAX", rt.lr_max), ("min-lr", cfg.min_lr)) if cfg.min_lr is not None else \
            (("LRMIN", rt.lr_min), ("max-lr", cfg.max_lr))
        relation = "above" if found[0] == "LRMAX" else "below"
        raise ConfigError(f"the range test found {found[0]} {found[1]:.4g}, not {relation} the given {given[0]} "
                          f"{given[1]:.4g}; give both --min-lr and --max-lr")
    print(f"LR range test ({len(rt.lrs)} batches, {seconds:.1f}s): LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g} ({rt.note})")
    return lr_min, lr_max, seconds, {"note": rt.note, "warnings": list(rt.warnings)}


def checkpoint_file(path: Path) -> Path:
    """The checkpoint that ``--resume`` or ``--checkpoint`` names: a run folder's checkpoint.pt, or the file itself."""
    return path / "checkpoint.pt" if path.is_dir() else path


def cmd_resume(path: Path, overrides: dict) -> dict:
    """Continue the run in ``path`` (a run folder or its checkpoint.pt) from its checkpoint, with its own config."""
    from . import checkpoint
    from .checkpoint import CheckpointError

    ckpt_path = checkpoint_file(path)
    run_dir = ckpt_path.parent
    ckpt = checkpoint.load(ckpt_path)
    cfg = dataclasses.replace(ckpt["config"], **overrides)
    if ckpt["epoch"] >= cfg.epochs:
        raise CheckpointError(f"the run in {run_dir} already finished all {cfg.epochs} epochs; nothing to resume")
    return cmd_train(cfg, run_dir, resume=ckpt)


def cmd_repeat(cfg: Config, out: Path, repeat: int, overwrite: bool = False) -> dict:
    """``repeat`` seeds of the whole job on data read once; writes OUT/repeats.json."""
    if repeat < 1:
        raise ConfigError(f"repeat must be >= 1, got {repeat}")
    from .datasets import check_source, load_cifar10
    from .engine import resolve_device

    resolve_device(cfg.device)
    check_source(cfg.data)
    with claimed(out, overwrite=overwrite):
        t0 = time.perf_counter()
        try:
            data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
        except KeyboardInterrupt:
            raise Interrupted("interrupted while reading the data; nothing was written") from None
        read_seconds = time.perf_counter() - t0  # once for all seeds; each run's data_seconds is then its loaders only
        print(f"data read once for {repeat} seeds in {read_seconds:.1f}s")
        runs = [cmd_train(dataclasses.replace(cfg, seed=cfg.seed + i), out / f"seed-{cfg.seed + i}", data,
                          overwrite=overwrite) for i in range(repeat)]
        summary_ = repeat_summary(runs, read_seconds)
        (out / "repeats.json").write_text(json.dumps(summary_, indent=2))
    print(f"{repeat} seeds: test accuracy {', '.join(f'{a:.2f}' for a in summary_['test_accuracy'])}; "
          f"median {summary_['median']:.2f}%, mean {summary_['mean']:.2f}%, std {summary_['std']:.2f}; "
          f"with flip TTA median {summary_['median_tta']:.2f}%")
    return summary_


def repeat_summary(runs: list[dict], read_seconds: float) -> dict:
    import statistics

    acc, tta = [m["test_accuracy"] for m in runs], [m["test_accuracy_tta"] for m in runs]
    return {"seeds": [m["seed"] for m in runs], "test_accuracy": acc, "median": statistics.median(acc),
            "mean": statistics.fmean(acc), "std": statistics.stdev(acc) if len(acc) > 1 else 0.0,
            "min": min(acc), "max": max(acc), "test_accuracy_tta": tta, "median_tta": statistics.median(tta),
            "train_seconds": [m["train_seconds"] for m in runs], "read_seconds": read_seconds}


def cmd_find_lr(cfg: Config, out: Path) -> None:
    from .datasets import check_source

    check_source(cfg.data)
    created = make_dirs(out)
    try:
        _find_lr(cfg, out)
    except BaseException:
        remove_empty(created)
        raise


def _find_lr(cfg: Config, out: Path) -> None:
    from . import plots
    from .datasets import load_cifar10
    from .engine import build_model, start_run
    from .loaders import make_loaders
    from .lr_finder import find_lrs

    device = start_run(cfg)
    doing = "reading the data"
    try:
        data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
        train_loader, _ = make_loaders(data, cfg, device)
        doing = "running the LR range test"
        rt = find_lrs(build_model(cfg, device), cfg, train_loader, device)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {doing}; nothing was written") from None
    save_figure(plots.lr_range(rt.lrs, rt.losses, rt.smoothed, rt.lr_min, rt.lr_max), out / "lr_finder.png")
    (out / "lr_finder.json").write_text(json.dumps({"lr_min": rt.lr_min, "lr_max": rt.lr_max, "note": rt.note,
                                                     "warnings": list(rt.warnings), "lrs": rt.lrs.tolist(),
                                                     "losses": rt.losses.tolist()}, indent=2))
    for message in rt.warnings:
        warn(f"LR range test: {message}")
    print(f"LRMIN {rt.lr_min:.4g}\nLRMAX {rt.lr_max:.4g}\n({rt.note}; {len(rt.lrs)} batches; plot in {out / 'lr_finder.png'})")


def check_figure_path(path: Path) -> list[Path]:
    """Make the folder a figure will be written into, before the work that draws it."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; --out takes a .png file name")
    return make_dirs(path.parent)


def cmd_zigzag(args: argparse.Namespace) -> None:
    if not 0 < args.lr_min < args.lr_max:
        raise ConfigError(f"need 0 < lr-min < lr-max, got {args.lr_min} and {args.lr_max}")
    if args.step_size <= 0 or args.cycles <= 0:
        raise ConfigError("step-size and cycles must be > 0")
    check_figure_path(args.out)
    import numpy as np

    from . import plots
    from .schedule import zigzag_lr

    it = np.arange(2 * args.step_size * args.cycles + 1)
    save_figure(plots.zigzag(it, zigzag_lr(it, lr_min=args.lr_min, lr_max=args.lr_max, step_size=args.step_size)), args.out)
    print(f"wrote {args.out}")


def cmd_gradcam(args: argparse.Namespace) -> None:
    from . import checkpoint
    from .datasets import check_source

    path = checkpoint_file(args.checkpoint)
    ckpt = checkpoint.load(path)
    cfg = ckpt["config"]
    data_source = args.data if args.data is not None else cfg.data
    check_source(data_source)
    cfg = dataclasses.replace(cfg, device=args.device, data=data_source)
    created = check_figure_path(args.out)
    try:
        _gradcam(args, cfg, ckpt, path)
    except BaseException:
        remove_empty(created)
        raise


def _gradcam(args: argparse.Namespace, cfg: Config, ckpt: dict, path: Path) -> None:
    from torch import nn

    from . import checkpoint, plots
    from .datasets import load_cifar10
    from .engine import autocast_dtype, build_model, evaluate, start_run
    from .gradcam import gradcam, overlay
    from .loaders import DeviceLoader
    from .mistakes import find_misclassified

    device = start_run(cfg)
    model = build_model(cfg, device)
    checkpoint.load_weights(model, ckpt, path)
    layer = args.gradcam_layer or cfg.gradcam_layer
    doing = "reading the data"
    try:
        data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)  # the test images the run scored
        doing = "scoring the test set"
        loader = DeviceLoader(data.test, cfg.batch_size, device, train=False)
        outputs = evaluate(model, loader, nn.CrossEntropyLoss(), device, dtype=autocast_dtype(cfg.precision, device),
                           keep_outputs=True)["outputs"]
        mis = find_misclassified(data.test, outputs, spread=cfg.misclassified_by_class)
        doing = "drawing GradCAM maps"
        maps = {t: gradcam(model, mis.images, mis.preds if t == "predicted" else mis.labels, device, layer=layer)
                for t in (("predicted", "true") if args.target == "both" else (args.target,))}
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while {doing}; nothing was written") from None
    if args.target == "both":
        fig = plots.gradcam_pairs(overlay(mis.images, maps["predicted"]), overlay(mis.images, maps["true"]),
                                  mis.labels, mis.preds, mis.probs, layer=layer)
    else:
        fig = plots.misclassified(overlay(mis.images, maps[args.target]), mis.labels, mis.preds, mis.probs,
                                  title=f"GradCAM ({layer}) for the {args.target} class")
    save_figure(fig, args.out)
    print(f"wrote {args.out} ({len(mis.labels)} misclassified of {len(data.test)} test images, from {data.source})")


def cmd_summary() -> None:
    from .model import ResNet9, summary

    print(summary(ResNet9()))


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    names = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in names}
    if args.resume is not None:
        refused = (sorted(set(given) - set(RESUME_OVERRIDES)) + (["out"] if args.out else [])
                   + (["repeat"] if args.repeat is not None else []) + (["overwrite"] if args.overwrite else []))
        if refused:
            parser.error(f"--resume continues a run with its own config; drop {', '.join('--' + r.replace('_', '-') for r in refused)}")
        cmd_resume(args.resume, given)
    elif args.out is None:
        parser.error("train needs --out DIR (or --resume DIR)")
    elif args.repeat is not None:
        cmd_repeat(config_from_args(args), args.out, args.repeat, overwrite=args.overwrite)
    else:
        cmd_train(config_from_args(args), args.out, overwrite=args.overwrite)


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input exits 2, a diverged run 3, an interrupted one 130, each with one ``error:`` line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM, like Ctrl-C, saves and stops
    try:
        if args.command == "train":
            _train_command(args, parser)
        elif args.command == "find-lr":
            cmd_find_lr(config_from_args(args), args.out)
        elif args.command == "zigzag":
            cmd_zigzag(args)
        elif args.command == "gradcam":
            cmd_gradcam(args)
        else:
            cmd_summary()
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except Interrupted as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("error: interrupted before any work began; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
