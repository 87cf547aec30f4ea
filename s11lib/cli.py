"""s11 (python -m s11lib) COMMAND: train, find-lr, sweep, zigzag, gradcam, predict, summary.

Flags are generated from ``Config``'s fields (help text from their metadata, ``config.knob``), so a flag
cannot drift from the field it sets. Arguments are parsed and checked before torch and the
other heavy libraries are imported, so ``--help`` and a typo answer at once. The work itself
is ``training.py``'s and the steps it takes (``steps.py``, ``range_tests.py``), what each command does around it
``commands.py``'s; this module parses,
dispatches and maps errors to exit statuses: a sweep that measured nothing 1, bad input 2, a
diverged run 3, an interrupted one 130, each with one ``error:`` line.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
from pathlib import Path

from . import __version__
from . import config as config_module
from .commands import (ZIGZAG_MAX_CYCLES, cmd_find_lr, cmd_gradcam, cmd_predict, cmd_repeat, cmd_resume,
                       cmd_summary, cmd_sweep, cmd_train, cmd_zigzag)
from .config import Config, Diverged, InputError, Interrupted
from .flags import EXIT_BAD_INPUT, Parser, add_config_flags, config_from_args, finite_float, out_path
from .sweep_plan import MAX_RUNS, PRESET
from .sweep_report import NothingMeasured
from .sweep_run import CONNECT_SECONDS

EXIT_NOTHING_MEASURED, EXIT_DIVERGED, EXIT_INTERRUPTED = 1, 3, 130
GRADCAM_TARGETS = ("predicted", "true", "both")
SWEEP_LISTS = ("max_lr", "schedule", "epochs")  # sweep takes these as lists, every other Config field as train does
FIND_LR_FIELDS = tuple(f for f in config_module.RANGE_TEST_FIELDS if f != "finder_repeat")  # find-lr's --repeat sets it


PROG = "python -m s11lib"  # how the command is named in help and errors; the console script is "s11"


def build_parser(prog: str = PROG) -> Parser:
    # allow_abbrev=False: a mistyped flag such as --epoch fails instead of silently meaning --epochs
    parser = Parser(prog=prog, description=__doc__.split("\n")[0], allow_abbrev=False)
    parser.add_argument("--version", action="version", version=f"s11lib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", allow_abbrev=False, help="range test, one-cycle training, GradCAM; writes every figure and metric")
    p.add_argument("--out", type=out_path, help="output folder (required unless --resume)")
    p.add_argument("--resume", type=Path, metavar="DIR",
                   help="continue the run in DIR (or DIR/checkpoint.pt) from its last checkpoint, with its own config")
    p.add_argument("--overwrite", action="store_true", help="replace the run an --out folder already holds")
    p.add_argument("--repeat", type=int, metavar="N",
                   help="train N seeds (seed, seed+1, ...) into OUT/seed-S on data read once, and report median, "
                        "mean and spread in OUT/repeats.json; the same command again goes on where it stopped")
    p.add_argument("--lr-from", type=Path, metavar="DIR",
                   help="train at the pair of the range test in DIR (find-lr's, of the same settings), read back "
                        "instead of run again")
    add_config_flags(p)

    p = sub.add_parser("find-lr", allow_abbrev=False, help="the LR range test alone; prints LRMIN and LRMAX")
    p.add_argument("--out", required=True, type=out_path, help="output folder (lr_finder.png, lr_finder.json)")
    p.add_argument("--repeat", type=int, metavar="N", dest="finder_repeat", default=argparse.SUPPRESS,
                   help="N range tests (seed, seed+1, ...) on data read once; prints their median pair")
    p.add_argument("--overwrite", action="store_true", help="replace the range test the --out folder already holds")
    add_config_flags(p, FIND_LR_FIELDS)

    p = sub.add_parser("zigzag", allow_abbrev=False, help="plot the triangular cyclic LR", formatter_class=Defaults)
    p.add_argument("--out", required=True, type=out_path, help="PNG file")
    p.add_argument("--lr-min", type=finite_float, default=1e-3, help="the LR at the bottom of each cycle")
    p.add_argument("--lr-max", type=finite_float, default=1e-1, help="the LR at the top of each cycle")
    p.add_argument("--step-size", type=int, default=500, help="iterations from lr-min to lr-max")
    p.add_argument("--cycles", type=int, default=3, help=f"up-and-down cycles (at most {ZIGZAG_MAX_CYCLES:,})")

    p = sub.add_parser("gradcam", allow_abbrev=False, help="GradCAM on the 25 worst misclassified test images of a checkpoint")
    p.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint.pt that train wrote, or its run folder")
    p.add_argument("--data", default=None, help="data source, as for train (default: the checkpoint's; its --subset applies)")
    p.add_argument("--out", required=True, type=out_path, help="PNG file")
    p.add_argument("--device", default="auto", choices=config_module.DEVICES)
    p.add_argument("--gradcam-layer", default=None, choices=config_module.GRADCAM_LAYERS,
                   help="default: the checkpoint's")
    p.add_argument("--target", default="predicted", choices=GRADCAM_TARGETS,
                   help="the class whose map is drawn: the predicted one, the true one, or both side by side")

    p = sub.add_parser("predict", allow_abbrev=False,
                       help="a trained net on your own images: top 3 classes and the GradCAM map of the top one")
    p.add_argument("--checkpoint", required=True, type=Path, help="a checkpoint.pt that train wrote, or its run folder")
    p.add_argument("images", nargs="+", type=Path, metavar="IMAGE",
                   help="image files of any size (PNG, JPEG, ...): the centre square, resized to 32x32")
    p.add_argument("--out", type=out_path, default=Path("predictions.png"),
                   help="PNG file for the images and their GradCAM maps (default: predictions.png)")
    p.add_argument("--device", default="auto", choices=config_module.DEVICES)
    _add_sweep_parser(sub)

    p = sub.add_parser("summary", allow_abbrev=False,
                       help="the model table; with FOLDER, the results of a sweep or a run folder")
    p.add_argument("folder", nargs="?", type=Path, help="a sweep's --out (sweep.json) or a run folder (metrics.json)")
    return parser


def _add_sweep_parser(sub) -> None:
    p = sub.add_parser("sweep", allow_abbrev=False,
                       help="train a grid of schedules x LRMAX x epochs (and the found pair): what super-convergence buys")
    p.add_argument("--out", required=True, type=out_path, help="output folder (sweep.csv, sweep.json, figures, a "
                   "folder per point); the same command again goes on where it stopped")
    p.add_argument("--max-lr", type=finite_float, nargs="+", default=argparse.SUPPRESS, metavar="LR",
                   help=f"LRMAX of the grid (default: {' '.join(map(str, PRESET['max_lr']))}); each point's LRMIN is "
                        "LRMAX/100 unless --min-lr is given")
    p.add_argument("--schedule", nargs="+", choices=config_module.SCHEDULES, default=argparse.SUPPRESS,
                   help=f"schedules of the grid (default: {' '.join(PRESET['schedule'])})")
    p.add_argument("--epochs", type=int, nargs="+", default=argparse.SUPPRESS, metavar="N",
                   help=f"run lengths of the grid (default: {' '.join(map(str, PRESET['epochs']))})")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="seeds per point (seed, seed+1, ...)")
    p.add_argument("--max-runs", type=int, default=MAX_RUNS, metavar="N",
                   help=f"refuse a sweep of more runs than this (default {MAX_RUNS:,}: a guard against a typo; "
                        "1,000 runs of 24 epochs are some 4 hours on an H200)")
    p.add_argument("--found", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the LR range test once and train one cycle at its pair, at each --epochs")
    p.add_argument("--overwrite", action="store_true", help="replace what the --out folder holds")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run each point as a Ray task: on a cluster (auto, or ray://host:port), or on a Ray "
                        "started here for the sweep when no ADDRESS is given")
    p.add_argument("--ray-gpus", type=float, default=1.0,
                   help="GPUs per point where the cluster has GPUs (0: points run on CPUs there too)")
    p.add_argument("--ray-cpus", type=float, default=2.0, help="CPUs per point where it has no GPU (or --ray-gpus 0)")
    p.add_argument("--ray-timeout", type=float, default=CONNECT_SECONDS, metavar="SECONDS",
                   help="how long the cluster at ADDRESS has to answer before the sweep stops with one line")
    add_config_flags(p, tuple(f.name for f in dataclasses.fields(Config) if f.name not in SWEEP_LISTS))


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    names = {f.name for f in dataclasses.fields(Config)}
    given = {k: v for k, v in vars(args).items() if k in names}
    if args.resume is not None:
        refused = (sorted(set(given) - set(config_module.PLACE_FIELDS)) + (["out"] if args.out else [])
                   + (["repeat"] if args.repeat is not None else []) + (["overwrite"] if args.overwrite else [])
                   + (["lr_from"] if args.lr_from is not None else []))
        if refused:
            parser.error(f"--resume continues a run with its own config; drop {', '.join('--' + r.replace('_', '-') for r in refused)}")
        cmd_resume(args.resume, given)
    elif args.out is None:
        parser.error("train needs --out DIR (or --resume DIR)")
    elif args.lr_from is not None and args.repeat is not None:
        parser.error("--lr-from reads one range test, of one seed; --repeat runs one for each seed: drop one of them")
    elif args.lr_from is not None and "min_lr" in given and "max_lr" in given:
        parser.error("--min-lr and --max-lr give the whole pair: drop them, or --lr-from")
    elif args.repeat is not None:
        cmd_repeat(config_from_args(args), args.out, args.repeat, overwrite=args.overwrite)
    else:
        cmd_train(config_from_args(args), args.out, overwrite=args.overwrite, lr_from=args.lr_from)


class Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Help that shows each flag's default, but none for a required flag (it has none)."""

    def _get_help_string(self, action):
        return action.help if action.required else super()._get_help_string(action)


def parse(argv: list[str] | None, prog: str = PROG) -> tuple[argparse.Namespace, argparse.ArgumentParser]:
    """The arguments, and the parser of their command (whose name its errors then carry)."""
    parser = build_parser(prog)
    args, extra = parser.parse_known_args(argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    command = commands[args.command]
    if extra:
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    return args, command


def main(argv: list[str] | None = None, *, program: bool = False, prog: str = PROG) -> int:
    """Run a command; a sweep whose every run failed exits 1, bad input 2, a diverged run 3, an interrupted one
    130, each with one ``error:`` line.

    ``program``: the process ends with this call (``python -m s11lib``), so a finished command's
    Ctrl-C handler (see ``finished``) is left as it is through the exit instead of restored.
    """
    args, command = parse(argv, prog)  # --help and bad flags exit here, as argparse does (SystemExit)
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM, like Ctrl-C, saves and stops
    ctrl_c = signal.getsignal(signal.SIGINT)
    try:
        if getattr(args, "out", None) is not None and args.command in ("train", "find-lr", "sweep"):
            from .outputs import refuse_file

            refuse_file(args.out)  # answered at once, like a bad flag: before torch or the data are loaded
        if args.command == "train":
            _train_command(args, command)
        elif args.command == "find-lr":
            cmd_find_lr(config_from_args(args), args.out, overwrite=args.overwrite)
        elif args.command == "zigzag":
            cmd_zigzag(args)
        elif args.command == "gradcam":
            cmd_gradcam(args)
        elif args.command == "predict":
            cmd_predict(args.checkpoint, args.images, args.out, device=args.device)
        elif args.command == "sweep":
            grid = {name: getattr(args, name, PRESET[name]) for name in SWEEP_LISTS}
            names = {f.name for f in dataclasses.fields(Config)} - set(SWEEP_LISTS)
            cmd_sweep({k: v for k, v in vars(args).items() if k in names}, args.out, grid, seeds=args.repeat,
                      found=args.found, overwrite=args.overwrite, max_runs=args.max_runs, ray=args.ray,
                      ray_gpus=args.ray_gpus, ray_cpus=args.ray_cpus, ray_timeout=args.ray_timeout)
        else:
            cmd_summary(args.folder)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (Diverged, Interrupted, NothingMeasured) as e:
        print(f"error: {e}", file=sys.stderr)
        return {Diverged: EXIT_DIVERGED, Interrupted: EXIT_INTERRUPTED}.get(type(e), EXIT_NOTHING_MEASURED)
    except KeyboardInterrupt:
        print("error: interrupted before any work began; nothing was written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
        if not program:
            signal.signal(signal.SIGINT, ctrl_c)
    return 0


def console() -> None:
    """The ``s11`` command (pyproject's console script) and ``python -m s11lib``, each named as it was called."""
    sys.exit(main(program=True, prog="s11" if Path(sys.argv[0]).name == "s11" else PROG))
