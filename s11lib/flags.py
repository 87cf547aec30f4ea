"""Command-line flags from ``Config``'s fields: one flag per field, its help from the field's
metadata (``config.knob``), so a flag cannot drift from the field it sets; and an argparse that answers a bad
flag with one ``error:`` line."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
from pathlib import Path

from .config import Config, field_kinds

EXIT_BAD_INPUT = 2


class Parser(argparse.ArgumentParser):
    """argparse with one ``error:`` line, naming the command and where its help is, instead of the usage block."""

    def error(self, message: str):
        print(f"error: {self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def add_config_flags(parser: argparse.ArgumentParser, names: tuple[str, ...] | None = None) -> None:
    """A flag for each Config field (or for ``names`` only), its help from the field's metadata (``config.knob``)."""
    kinds = field_kinds()
    for f in dataclasses.fields(Config):
        if names is not None and f.name not in names:
            continue
        flag, kind = "--" + f.name.replace("_", "-"), kinds[f.name][0]
        text = f"{f.metadata['help']} (default: {f.default})"
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


def finite_float(text: str) -> float:
    """argparse type: a finite number ("nan", "inf" and words refused with what was given)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
    return value
