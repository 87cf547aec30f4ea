"""The recipe: one frozen dataclass holding every knob of the super-convergence run.

Variants come from ``dataclasses.replace(cfg, epochs=3)``; the CLI builds its flags from
these fields (see ``cli.py``), so a flag cannot drift from the field it sets.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import numbers
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from . import voice

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")

DEVICES = ("auto", "cuda", "mps", "cpu")
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
AUGMENTS = ("albumentations", "gpu")
SCHEDULES = ("one-cycle", "step", "constant")  # schedule.SCHEDULES, named here for the CLI
PEAK_FRACTION = 5 / 24  # the recipe's one cycle peaks at the end of epoch 5 of 24; other lengths peak as far in
LR_RULES = ("diverge", "edge", "cut", "turning", "steepest", "valley", "minimum")  # lr_rules.RULES, named here for the CLI
GRADCAM_LAYERS = ("prep", "layer1", "layer2", "layer3")
MIN_FINDER_ITERS = 5  # fewer range-test batches give no curve to read (lr_rules.MIN_POINTS)
MAX_SEED = 2**32 - 1  # numpy's global seed is an unsigned 32-bit integer
PLACE_FIELDS = ("device", "workers", "progress")  # where a run runs, not what it measures: a resume may change them
RANGE_TEST_FIELDS = ("data", "data_dir", "subset", "augment", "cutout", "workers", "batch_size", "momentum", "weight_decay",
                     "logit_scale", "finder_start_lr", "finder_end_lr", "finder_iters", "finder_repeat", "lr_rule", "seed",
                     "device", "precision", "progress")  # what a range test depends on (and where it runs)

# The smoke run (the notebook's S11_SMOKE=1, README's CPU smoke commands): the smallest run on the real
# CIFAR-10 whose range test reads a curve on every seed and processor measured: 500 images at batch 32, 48
# range-test batches from LR 1e-3 (from 1e-4 the curve falls about 5%, on the line where the rule calls it
# flat). bench/RESULTS.md sections 17 and 21 hold the measurements; tests/test_readme.py keeps it so.
SMOKE_RUN = {"subset": 500, "epochs": 2, "peak_epoch": 1, "batch_size": 32, "finder_iters": 48,
             "finder_start_lr": 1e-3, "workers": 0, "device": "cpu"}


class InputError(ValueError):
    """Input the user must fix (a setting, the data, a checkpoint): exit status 2, one line."""


class ConfigError(InputError):
    """A setting that cannot work; the message says which and what to do instead."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM during a run; the message says what was interrupted, what was kept and how to go on."""


class Diverged(Exception):
    """The run blew up (``engine.divergence``: a NaN, infinite or absurd loss, or a NaN weight); the
    message says where and what was kept."""


def knob(default, help: str, choices: tuple | None = None):
    """A Config field: its default, the help its flag shows (``--help``), and its choices where it has some."""
    return field(default=default, metadata={"help": help, **({"choices": choices} if choices else {})})


@dataclass(frozen=True)
class Config:
    """Leslie Smith's one-cycle recipe for ResNet-9 on CIFAR-10 (24 epochs, batch 512)."""

    # data
    data: str = knob("torchvision",
                     '"torchvision" (download into data_dir), or a path: folder/archive in ImageFolder layout, or '
                     "cifar-10-batches-py")
    data_dir: str = knob("./data", "where torchvision's download goes")
    subset: int | None = knob(None,
                              "class-balanced sample of this many training images (test set cut in proportion); None "
                              "= all")
    augment: str = knob("albumentations",
                        '"gpu": same augmentations as batched tensor ops on the device', choices=AUGMENTS)
    cutout: int = knob(8, "side of the single square hole, in pixels, filled with the data set's mean")
    workers: int | None = knob(None, "DataLoader processes; None = min(8, CPU count)")

    # optimisation
    epochs: int = knob(24, "passes over the training set; the one cycle spans all of them")
    peak_epoch: int | None = knob(None,
                                  "one cycle: LR reaches max_lr at the end of this epoch (1-based); None: 5/24 of the"
                                  " epochs, rounded, at least 1 (5 of 24)")
    schedule: str = knob("one-cycle",
                         "one-cycle (the recipe); step: max_lr, /10 from half the epochs, /100 from three quarters "
                         "(He et al. 2016); constant: max_lr", choices=SCHEDULES)
    batch_size: int = knob(512, "images per training step (the LR schedule steps once per batch)")
    momentum: float = knob(0.9, "SGD with Nesterov momentum, held constant (no momentum cycling)")
    weight_decay: float = knob(5e-4, "L2 penalty on every parameter, in SGD's convention")
    min_lr: float | None = knob(None,
                                "start and end of the cycle; None = found by the LR range test; 0 = Page's schedule "
                                "(0 -> max_lr -> 0)")
    max_lr: float | None = knob(None, "peak of the cycle; None = found by the LR range test")
    diverged_loss: float = knob(230.0,
                                "a training batch's loss above this ends the run as diverged: 100 times a uniform "
                                "guess's loss (ln 10 ≈ 2.3), which no run that learns reaches")
    logit_scale: float = knob(0.125,
                              "logits are multiplied by this before the softmax (Page's ResNet-9); docs/model-and-"
                              "figures.md says why")

    # LR range test (torch-lr-finder)
    finder_start_lr: float = knob(1e-4, "the range test's first LR; it grows exponentially batch by batch")
    finder_end_lr: float = knob(10.0, "the range test's last LR (it stops early once the loss is 5x its best)")
    finder_iters: int | None = knob(None,
                                    "batches of the test (>= 5); None = two epochs' worth, at least 20, at most 100")
    finder_repeat: int = knob(1,
                              "range tests, one seed each (seed, seed+1, ...), on data read once; their median pair "
                              "is used")
    lr_rule: str = knob("diverge", "how LRMIN/LRMAX are read off the curve (docs/lr-range-test.md)", choices=LR_RULES)

    # run
    seed: int = knob(1, "seeds the model's initialisation, the shuffling and the augmentations")
    device: str = knob("auto", "auto: cuda, then mps, then cpu", choices=DEVICES)
    precision: str = knob("auto",
                          "auto: bf16 (or fp16) autocast on CUDA, bf16 on a CPU with native bf16 (AVX512-BF16, AMX), "
                          "fp32 elsewhere", choices=PRECISIONS)
    compile: bool = knob(False, "torch.compile the model (CUDA only pays)")
    gradcam_layer: str = knob("layer3", "block whose activations GradCAM weighs", choices=GRADCAM_LAYERS)
    misclassified_by_class: bool = knob(False,
                                        "show mistakes class by class in turn, not simply the 25 with the highest "
                                        "loss")
    progress: bool | None = knob(None, "tqdm progress bars; None: only when they go to a terminal")

    def __post_init__(self) -> None:
        check_types(self)
        validate(self)

    @property
    def peak(self) -> int:
        """The epoch at whose end the one cycle peaks: ``peak_epoch`` as given, else 5/24 of ``epochs``. The field
        keeps what was given, so ``dataclasses.replace(cfg, epochs=12)`` peaks where ``Config(epochs=12)`` does."""
        return default_peak_epoch(self.epochs) if self.peak_epoch is None else self.peak_epoch

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        """Rebuild a config saved by ``to_dict``; unknown keys are an error, not ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(f"unknown config field(s) {', '.join(unknown)}; known: {', '.join(sorted(names))}")
        return cls(**values)


KINDS = {int: "a whole number", float: "a number", bool: "True or False", str: "a string"}


@functools.lru_cache(maxsize=1)
def field_kinds() -> dict[str, tuple[type, bool]]:
    """Each Config field's scalar type and whether it may be None (``int | None`` -> (int, True))."""
    kinds = {}
    for name, hint in typing.get_type_hints(Config).items():
        args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
        kinds[name] = (next(a for a in args if a is not type(None)), type(None) in args)
    return kinds


def check_types(cfg: Config) -> None:
    """Refuse a value of the wrong type for its field, naming the field as the CLI and Python spell it:
    an int field takes no 2.5, "2" or True; a float field no "0.4" (a whole number is fine, and is kept
    as a float); a bool field no 1. Whole numbers of other types (numpy's) are kept as Python ints."""
    for name in field_kinds():
        value = checked(name, getattr(cfg, name))
        if value is not getattr(cfg, name):
            object.__setattr__(cfg, name, value)


def checked(name: str, value, kind: type | None = None, optional: bool | None = None):
    """``value`` if it has the type of the Config field ``name`` (or ``kind``), as that type; else ConfigError."""
    field_kind, field_optional = field_kinds().get(name, (kind, bool(optional)))
    kind, optional = kind or field_kind, field_optional if optional is None else optional
    if value is None and optional:
        return value
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    else:
        ok = isinstance(value, kind)
    if not ok:
        raise ConfigError(f"--{name.replace('_', '-')} ({name}= in Python) must be {KINDS[kind]}"
                          f"{' or None' if optional else ''}, got {value!r} ({type(value).__name__})")
    return kind(value) if kind in (int, float) and type(value) is not kind else value


def default_peak_epoch(epochs: int) -> int:
    """The epoch at whose end the one cycle peaks when none is given: 5 of 24, and as far into other lengths."""
    return max(1, int(epochs * PEAK_FRACTION + 0.5))  # halves round up: 12 epochs peak at 3


def check_seeds(first: int, n: int) -> None:
    """Refuse now a run of ``n`` seeds (first, first+1, ...) whose last seed numpy cannot take."""
    last = first + n - 1
    if not 0 <= first <= last <= MAX_SEED:
        raise ConfigError(f"--seed {first} with --repeat {n} reaches seed {last}, above {MAX_SEED} (numpy's seeds are "
                          f"32-bit); pass a lower --seed or fewer seeds")


def validate(cfg: Config) -> None:
    """Refuse settings that cannot work, before any data is read or any model is built."""

    def positive(name: str, value: float | None, *, allow_none: bool = False) -> None:
        if value is None and allow_none:
            return
        if value is None or value <= 0:
            raise ConfigError(f"{name.replace('_', '-')} must be > 0, got {value}")

    for f in dataclasses.fields(cfg):  # nan and inf compare False with everything: refuse them first
        value = getattr(cfg, f.name)
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{f.name.replace('_', '-')} must be a finite number, got {value}")
    for name in ("epochs", "batch_size", "cutout", "finder_start_lr", "finder_end_lr", "logit_scale",
                 "diverged_loss"):
        positive(name, getattr(cfg, name))
    if cfg.finder_repeat < 1:
        raise ConfigError(f"finder-repeat must be >= 1, got {cfg.finder_repeat}")
    for name in ("subset", "finder_iters", "max_lr", "peak_epoch"):
        positive(name, getattr(cfg, name), allow_none=True)
    for name in ("min_lr", "momentum", "weight_decay"):  # a given min-lr of 0 is Page's schedule; a found one never is
        if getattr(cfg, name) is not None and getattr(cfg, name) < 0:
            raise ConfigError(f"{name.replace('_', '-')} must be >= 0, got {getattr(cfg, name)}")
    if cfg.subset is not None and cfg.subset < len(CLASSES):
        raise ConfigError(f"subset must hold at least one image per class ({len(CLASSES)}), got {cfg.subset}")
    if not 0 <= cfg.seed <= MAX_SEED:
        raise ConfigError(f"seed must be between 0 and {MAX_SEED} (numpy's seeds are 32-bit), got {cfg.seed}")
    lrs_given = cfg.min_lr is not None and cfg.max_lr is not None  # then no range test runs: its settings do not matter
    if cfg.finder_iters is not None and cfg.finder_iters < MIN_FINDER_ITERS and not lrs_given:
        raise ConfigError(f"finder-iters must be >= {MIN_FINDER_ITERS}: the range test needs that many batches to "
                          f"draw a curve to read, got {cfg.finder_iters}")
    if cfg.workers is not None and cfg.workers < 0:
        raise ConfigError(f"workers must be >= 0, got {cfg.workers}")
    if cfg.epochs < 2:
        raise ConfigError(f"epochs must be >= 2 for one cycle, got {cfg.epochs}: the LR rises for peak-epoch epochs "
                          f"and falls for the rest, so the shortest run is {voice.setting('epochs', 2)} "
                          f"{voice.setting('peak_epoch', 1)}")
    if cfg.peak >= cfg.epochs:
        raise ConfigError(
            f"peak-epoch ({cfg.peak}) must come before the last epoch ({cfg.epochs}): "
            "the LR needs at least one epoch to come back down"
        )
    if cfg.min_lr is not None and cfg.max_lr is not None and cfg.min_lr >= cfg.max_lr:
        raise ConfigError(f"min-lr ({cfg.min_lr}) must be below max-lr ({cfg.max_lr})")
    if cfg.finder_start_lr >= cfg.finder_end_lr:
        raise ConfigError(f"finder-start-lr ({cfg.finder_start_lr}) must be below finder-end-lr ({cfg.finder_end_lr})")
    if cfg.cutout > 32:
        raise ConfigError(f"cutout must fit in a 32x32 image, got {cfg.cutout}")
    for name in ("device", "precision", "augment", "gradcam_layer", "lr_rule", "schedule"):
        choices = next(f.metadata["choices"] for f in dataclasses.fields(cfg) if f.name == name)
        if getattr(cfg, name) not in choices:
            raise ConfigError(f"{name.replace('_', '-')} must be one of {', '.join(choices)}, got {getattr(cfg, name)!r}")
