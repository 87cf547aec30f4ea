"""``python -m s11lib <command>``: train, find-lr, zigzag, gradcam, summary.

Flags are generated from ``Config``'s fields (help text from their comments), so a flag
cannot drift from the field it sets. Bad input exits with status 2 and one ``error:`` line.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import inspect
import json
import os
import re
import signal
import sys
import time
import types
import typing
from pathlib import Path

import numpy as np
import torch

from . import checkpoint
from . import config as config_module
from .checkpoint import CheckpointError
from .config import Config, ConfigError
from .data import (Cifar10, DataError, augmented_samples, check_source, load_cifar10, loader_state, make_loaders,
                   set_loader_state)
from .engine import (NonFiniteLoss, autocast_dtype, build_model, fit, flip_tta_accuracy, resolve_device,
                     seed_everything)
from .gradcam import find_misclassified, gradcam, overlay
from .lr_finder import find_lrs
from .model import ResNet9, count_parameters, summary
from .schedule import zigzag_lr

# Files `train` writes into --out, in the order they appear.
TRAIN_OUTPUTS = ("config.json", "augmented.png", "lr_finder.png", "one_cycle.png", "history.csv", "metrics.json",
                 "checkpoint.pt", "accuracy.png", "loss.png", "misclassified.png", "gradcam.png")


EXIT_BAD_INPUT, EXIT_DIVERGED, EXIT_INTERRUPTED = 2, 3, 130
# with --resume the run's own config is used; only these may still be given
RESUME_OVERRIDES = ("device", "workers", "progress")


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run; the message says what was kept and how to go on."""


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


def build_parser() -> argparse.ArgumentParser:
    # allow_abbrev=False: a mistyped flag such as --epoch fails instead of silently meaning --epochs
    parser = argparse.ArgumentParser(prog="python -m s11lib", description=__doc__.split("\n")[0], allow_abbrev=False)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", allow_abbrev=False, help="range test, one-cycle training, GradCAM; writes every figure and metric")
    p.add_argument("--out", type=Path, help="output folder (required unless --resume)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue the run in DIR from its last checkpoint, with its own config")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="train N seeds (seed, seed+1, ...) into OUT/seed-S on data read once, and report median, "
                        "mean and spread in OUT/repeats.json")
    add_config_flags(p)

    p = sub.add_parser("find-lr", allow_abbrev=False, help="the LR range test alone; prints LRMIN and LRMAX")
    p.add_argument("--out", required=True, type=Path, help="output folder (lr_finder.png, lr_finder.json)")
    add_config_flags(p)

    p = sub.add_parser("zigzag", allow_abbrev=False, help="plot the triangular cyclic LR")
    p.add_argument("--out", required=True, type=Path, help="PNG file")
    p.add_argument("--lr-min", type=float, default=1e-3)
    p.add_argument("--lr-max", type=float, default=1e-1)
    p.add_argument("--step-size", type=int, default=500, help="iterations from lr-min to lr-max")
    p.add_argument("--cycles", type=int, default=3)

    p = sub.add_parser("gradcam", allow_abbrev=False, help="GradCAM on 25 misclassified test images of a trained checkpoint")
    p.add_argument("--checkpoint", required=True, type=Path)
    p.add_argument("--data", default="torchvision", help="data source, as for train")
    p.add_argument("--out", required=True, type=Path, help="PNG file")
    p.add_argument("--device", default="auto", choices=config_module.DEVICES)
    p.add_argument("--gradcam-layer", default=None, choices=config_module.GRADCAM_LAYERS,
                   help="default: the checkpoint's")

    sub.add_parser("summary", allow_abbrev=False, help="the model table: each block's output shape and parameters")
    return parser


# ---------------------------------------------------------------------------------------
# Helpers shared by the commands


def check_out_dir(out: Path) -> None:
    """Refuse an output folder that is a file or cannot be written, before any long work."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {out} is a file; pass a folder with --out")
    existing = next(p for p in (out, *out.absolute().parents) if p.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ConfigError(f"cannot write into {existing} (for output folder {out}); pass a writable folder with --out")


def prepare_out_dir(out: Path) -> Path:
    check_out_dir(out)
    out.mkdir(parents=True, exist_ok=True)
    return out


def save_figure(fig_or_ax, path: Path) -> None:
    import matplotlib.pyplot as plt

    fig = getattr(fig_or_ax, "figure", fig_or_ax)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    plt.close(fig)


# ---------------------------------------------------------------------------------------
# Commands


def cmd_train(cfg: Config, out: Path, data: Cifar10 | None = None, resume: dict | None = None) -> dict:
    """The whole job; returns metrics.json's content.

    Every setting, the output folder and the data path are checked before anything is read
    or written. A checkpoint is written (atomically) after every epoch.

    Args:
        data: already-read data (``--repeat``), to skip reading it again.
        resume: a checkpoint (``checkpoint.load``) to continue from, in ``out``.
    """
    from . import plots

    device = resolve_device(cfg.device)
    check_out_dir(out)
    check_source(cfg.data)
    seed_everything(cfg.seed)
    t0 = time.perf_counter()
    data = data or load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    train_loader, test_loader = make_loaders(data, cfg, device)
    data_seconds = time.perf_counter() - t0
    print(f"data: {data.source}: {len(data.train)} train / {len(data.test)} test images; device: {device}")
    prepare_out_dir(out)
    (out / "config.json").write_text(cfg.to_json())
    model = build_model(cfg, device)
    lr_min, lr_max, finder_seconds = cfg.min_lr, cfg.max_lr, 0.0

    if resume is not None:
        checkpoint.load_weights(model, resume, out / "checkpoint.pt")
        lr_min, lr_max, finder_seconds = resume["lr_min"], resume["lr_max"], resume["lr_finder_seconds"]
        set_loader_state(train_loader, resume["loader"])
        checkpoint.set_rng_state(resume["rng"])
        print(f"resuming after epoch {resume['epoch']} of {cfg.epochs} (LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g})")
    else:
        save_figure(plots.augmented(*augmented_samples(data.train, cutout=cfg.cutout, seed=cfg.seed)), out / "augmented.png")
        if lr_min is None or lr_max is None:
            t0 = time.perf_counter()
            rt = find_lrs(model, cfg, train_loader, device)
            finder_seconds = time.perf_counter() - t0
            save_figure(plots.lr_range(rt.lrs, rt.losses, rt.smoothed, rt.lr_min, rt.lr_max), out / "lr_finder.png")
            lr_min = rt.lr_min if lr_min is None else lr_min
            lr_max = rt.lr_max if lr_max is None else lr_max
            if lr_min >= lr_max:
                raise ConfigError(f"the range test found LRMAX {rt.lr_max:.3g}, not above the given min-lr {lr_min:.3g}; "
                                  "give both --min-lr and --max-lr")
            print(f"LR range test ({len(rt.lrs)} batches, {finder_seconds:.1f}s): LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g} ({rt.note})")

    saved = {"epoch": resume["epoch"] if resume is not None else 0}  # the epoch checkpoint.pt holds, for this run

    def save_checkpoint(snapshot: dict) -> None:
        saved["epoch"] = snapshot["epoch"]
        checkpoint.atomic_save({"format": checkpoint.FORMAT, "config": cfg.to_dict(), "model": model.state_dict(),
                                "lr_min": lr_min, "lr_max": lr_max, "lr_finder_seconds": finder_seconds,
                                "loader": loader_state(train_loader), "rng": checkpoint.rng_state(), **snapshot},
                               out / "checkpoint.pt")

    try:
        run = fit(model, train_loader, test_loader, cfg, device, lr_min=lr_min, lr_max=lr_max,
                  on_epoch=save_checkpoint, resume=resume)
    except KeyboardInterrupt:
        if saved["epoch"]:
            raise Interrupted(f"interrupted; {out / 'checkpoint.pt'} holds epoch {saved['epoch']} of {cfg.epochs}. "
                              f"Resume with: python -m s11lib train --resume {out}") from None
        raise Interrupted("interrupted before the first epoch finished; nothing to resume") from None
    except NonFiniteLoss as e:
        kept = (f"the last good checkpoint (epoch {saved['epoch']}) is {out / 'checkpoint.pt'}" if saved["epoch"]
                else "no epoch finished, so there is no checkpoint")
        raise Diverged(f"{e}; {kept}. Try a lower --max-lr") from None
    history = run["history"]
    tta = flip_tta_accuracy(model, test_loader, cfg, device)
    with open(out / "history.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    save_figure(plots.one_cycle(run["lrs"], len(train_loader)), out / "one_cycle.png")
    save_figure(plots.accuracy(history), out / "accuracy.png")
    save_figure(plots.loss(history), out / "loss.png")

    mis = find_misclassified(model, data.test, device)
    save_figure(plots.misclassified(mis.images, mis.labels, mis.preds), out / "misclassified.png")
    maps = gradcam(model, mis.images, mis.preds, device, layer=cfg.gradcam_layer)
    save_figure(plots.misclassified(overlay(mis.images, maps), mis.labels, mis.preds,
                                    title=f"GradCAM ({cfg.gradcam_layer}) for the predicted class"), out / "gradcam.png")

    last = history[-1]
    metrics = {
        "test_accuracy": last["test_acc"], "best_test_accuracy": max(r["test_acc"] for r in history),
        "test_accuracy_tta": tta,  # the final model, scored on each image and its mirror (not a second run)
        "train_accuracy": last["train_acc"], "test_loss": last["test_loss"], "epochs": cfg.epochs,
        "train_seconds": run["train_seconds"], "eval_seconds": run["eval_seconds"], "lr_finder_seconds": finder_seconds,
        "data_seconds": data_seconds, "min_lr": lr_min, "max_lr": lr_max, "params": count_parameters(model),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "data": data.source, "train_images": len(data.train), "test_images": len(data.test),
        "augment": cfg.augment, "seed": cfg.seed, "compile": cfg.compile,
        "precision": str(autocast_dtype(cfg.precision, device) or torch.float32).removeprefix("torch."),
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    print(f"test accuracy {metrics['test_accuracy']:.2f}% (best {metrics['best_test_accuracy']:.2f}%, "
          f"with flip TTA {metrics['test_accuracy_tta']:.2f}%), training {metrics['train_seconds']:.1f}s; "
          f"wrote {', '.join(TRAIN_OUTPUTS)} to {out}")
    return metrics


def cmd_resume(run_dir: Path, overrides: dict) -> dict:
    """Continue the run in ``run_dir`` from its checkpoint, with its own config."""
    ckpt = checkpoint.load(run_dir / "checkpoint.pt")
    cfg = dataclasses.replace(ckpt["config"], **overrides)
    if ckpt["epoch"] >= cfg.epochs:
        raise CheckpointError(f"the run in {run_dir} already finished all {cfg.epochs} epochs; nothing to resume")
    return cmd_train(cfg, run_dir, resume=ckpt)


def cmd_repeat(cfg: Config, out: Path, repeat: int) -> dict:
    """``repeat`` seeds of the whole job on data read once; writes OUT/repeats.json."""
    if repeat < 1:
        raise ConfigError(f"repeat must be >= 1, got {repeat}")
    resolve_device(cfg.device)
    check_out_dir(out)
    check_source(cfg.data)
    t0 = time.perf_counter()
    data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    read_seconds = time.perf_counter() - t0  # once for all seeds; each run's data_seconds is then its loaders only
    print(f"data read once for {repeat} seeds in {read_seconds:.1f}s")
    runs = [cmd_train(dataclasses.replace(cfg, seed=cfg.seed + i), out / f"seed-{cfg.seed + i}", data)
            for i in range(repeat)]
    acc, tta = [m["test_accuracy"] for m in runs], [m["test_accuracy_tta"] for m in runs]
    summary_ = {"seeds": [m["seed"] for m in runs], "test_accuracy": acc, "median": float(np.median(acc)),
                "mean": float(np.mean(acc)), "std": float(np.std(acc, ddof=1)) if repeat > 1 else 0.0,
                "min": min(acc), "max": max(acc), "test_accuracy_tta": tta, "median_tta": float(np.median(tta)),
                "train_seconds": [m["train_seconds"] for m in runs], "read_seconds": read_seconds}
    (out / "repeats.json").write_text(json.dumps(summary_, indent=2))
    print(f"{repeat} seeds: test accuracy {', '.join(f'{a:.2f}' for a in acc)}; median {summary_['median']:.2f}%, "
          f"mean {summary_['mean']:.2f}%, std {summary_['std']:.2f}; with flip TTA median {summary_['median_tta']:.2f}%")
    return summary_


def cmd_find_lr(cfg: Config, out: Path) -> None:
    from . import plots

    device = resolve_device(cfg.device)
    check_out_dir(out)
    check_source(cfg.data)
    seed_everything(cfg.seed)
    data = load_cifar10(cfg.data, data_dir=cfg.data_dir, subset=cfg.subset)
    train_loader, _ = make_loaders(data, cfg, device)
    rt = find_lrs(build_model(cfg, device), cfg, train_loader, device)
    prepare_out_dir(out)
    save_figure(plots.lr_range(rt.lrs, rt.losses, rt.smoothed, rt.lr_min, rt.lr_max), out / "lr_finder.png")
    (out / "lr_finder.json").write_text(json.dumps({"lr_min": rt.lr_min, "lr_max": rt.lr_max, "note": rt.note,
                                                     "lrs": rt.lrs.tolist(), "losses": rt.losses.tolist()}, indent=2))
    print(f"LRMIN {rt.lr_min:.4g}\nLRMAX {rt.lr_max:.4g}\n({rt.note}; {len(rt.lrs)} batches; plot in {out / 'lr_finder.png'})")


def cmd_zigzag(args: argparse.Namespace) -> None:
    from . import plots

    if not 0 < args.lr_min < args.lr_max:
        raise ConfigError(f"need 0 < lr-min < lr-max, got {args.lr_min} and {args.lr_max}")
    if args.step_size <= 0 or args.cycles <= 0:
        raise ConfigError("step-size and cycles must be > 0")
    it = np.arange(2 * args.step_size * args.cycles + 1)
    save_figure(plots.zigzag(it, zigzag_lr(it, lr_min=args.lr_min, lr_max=args.lr_max, step_size=args.step_size)), args.out)
    print(f"wrote {args.out}")


def cmd_gradcam(args: argparse.Namespace) -> None:
    from . import plots

    device = resolve_device(args.device)
    ckpt = checkpoint.load(args.checkpoint)
    cfg = ckpt["config"]
    check_source(args.data)
    model = build_model(cfg, device)
    checkpoint.load_weights(model, ckpt, args.checkpoint)
    data = load_cifar10(args.data, data_dir=cfg.data_dir)
    layer = args.gradcam_layer or cfg.gradcam_layer
    mis = find_misclassified(model, data.test, device)
    maps = gradcam(model, mis.images, mis.preds, device, layer=layer)
    save_figure(plots.misclassified(overlay(mis.images, maps), mis.labels, mis.preds,
                                    title=f"GradCAM ({layer}) for the predicted class"), args.out)
    print(f"wrote {args.out} ({len(mis.labels)} misclassified of {len(data.test)} test images)")


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _train(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    names = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in names}
    if args.resume is not None:
        refused = sorted(set(given) - set(RESUME_OVERRIDES)) + (["out"] if args.out else []) + (["repeat"] if args.repeat is not None else [])
        if refused:
            parser.error(f"--resume continues a run with its own config; drop {', '.join('--' + r.replace('_', '-') for r in refused)}")
        cmd_resume(args.resume, given)
    elif args.out is None:
        parser.error("train needs --out DIR (or --resume DIR)")
    elif args.repeat is not None:
        cmd_repeat(config_from_args(args), args.out, args.repeat)
    else:
        cmd_train(config_from_args(args), args.out)


def main(argv: list[str] | None = None) -> int:
    """Run a command; bad input exits 2, a diverged run 3, an interrupted one 130, each with one ``error:`` line."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM, like Ctrl-C, saves and stops
    try:
        if args.command == "train":
            _train(args, parser)
        elif args.command == "find-lr":
            cmd_find_lr(config_from_args(args), args.out)
        elif args.command == "zigzag":
            cmd_zigzag(args)
        elif args.command == "gradcam":
            cmd_gradcam(args)
        else:
            print(summary(ResNet9()))
    except (ConfigError, DataError, CheckpointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Diverged as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_DIVERGED
    except (Interrupted, KeyboardInterrupt) as e:
        print(f"error: {e or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
