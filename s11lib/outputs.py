"""Output folders and files: claimed and locked before any work, written one named file at a
time, and left as they were found when a run fails before it trained anything."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
import tempfile
from pathlib import Path

from .config import PLACE_FIELDS, RANGE_TEST_FIELDS, Config, ConfigError, InputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs into one folder are then not kept apart
    fcntl = None

# Files `train` can write into its folder, in the order they appear.
TRAIN_OUTPUTS = ("config.json", "augmented.png", "lr_finder.png", "lr_finder.json", "checkpoint.pt", "history.csv", "metrics.json",
                 "lr_schedule.png", "accuracy.png", "loss.png", "confusion.png", "misclassified.png", "gradcam.png",
                 "gradcam_pairs.png")
LEGACY_OUTPUTS = ("one_cycle.png",)  # lr_schedule.png's name in older run folders: cleared with the rest
FIND_LR_OUTPUTS = ("config.json", "lr_finder.png", "lr_finder.json")
RUN_FILES = ("config.json", "checkpoint.pt", "history.csv", "metrics.json", "repeats.json",
             "sweep_config.json")  # a folder with one holds a run (or a sweep)
LOCK = ".s11lib.lock"
FIGURE_SUFFIX = ".png"


def refuse_file(folder: Path) -> None:
    """An output folder that names an existing file is refused (at once: before torch or the data are loaded)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"output folder {folder} is a file; pass a folder")


def make_dirs(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents now and check it takes files; returns the folders created.

    Raises:
        ConfigError: ``folder`` is a file, or cannot be created or written into.
    """
    refuse_file(folder)
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


class RunFolder:
    """A claimed output folder; remembers which files this run wrote, in order."""

    def __init__(self, path: Path):
        self.path, self.written = path, []

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def write(self, name: str, figure=None, text: str | None = None) -> None:
        """Save a drawn figure (closing it) or a text file as ``name``."""
        if figure is not None:
            from . import plots

            plots.save(figure, self.path / name, close=True)
        else:
            (self.path / name).write_text(text)
        self.wrote(name)

    def wrote(self, name: str) -> None:
        if name not in self.written:
            self.written.append(name)

    def discard(self) -> None:
        """Remove what this run wrote: it failed before any epoch was kept, so nothing of it is worth keeping."""
        for name in self.written:
            (self.path / name).unlink(missing_ok=True)
        self.written.clear()


@contextlib.contextmanager
def claimed(out: Path, *, overwrite: bool = False, resume: bool = False, outputs=TRAIN_OUTPUTS,
            run_files=RUN_FILES):
    """Hold ``out`` for one run: created, locked against a second run at the same time, and
    refused when it already holds a run (unless resuming it, or ``overwrite``, which first
    removes the old run's files). Yields a ``RunFolder``."""
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
            held = [f for f in run_files if (out / f).exists()]
            if held and not resume:
                if not overwrite and "sweep_config.json" in held:
                    raise ConfigError(f"{out} holds a sweep (sweep_config.json); replace it with --overwrite, or pass "
                                      "another --out")
                if not overwrite:
                    raise ConfigError(f"{out} already holds a run ({', '.join(held)}); continue it with "
                                      f"--resume {out}, replace it with --overwrite, or pass another --out")
                clear(out, outputs)
            yield RunFolder(out)
        finally:
            (out / LOCK).unlink(missing_ok=True)
            lock.close()
    finally:
        remove_empty(created)


def clear(out: Path, outputs=TRAIN_OUTPUTS) -> None:
    """Remove an old run's files from ``out``: its outputs, its summaries and its seed folders."""
    for name in (*outputs, *LEGACY_OUTPUTS, "repeats.json", *FIND_LR_OUTPUTS):
        (out / name).unlink(missing_ok=True)
    for seed_dir in out.glob("seed-*"):
        if seed_dir.is_dir():
            shutil.rmtree(seed_dir)
    for point in out.iterdir():  # a sweep's points: folders of seed folders
        if point.is_dir() and any(p.is_dir() for p in point.glob("seed-*")):
            shutil.rmtree(point)


def checkpoint_file(path: Path) -> Path:
    """The checkpoint that ``--resume`` or ``--checkpoint`` names: a run folder's checkpoint.pt, or the file itself."""
    return path / "checkpoint.pt" if path.is_dir() else path


def figure_path(path: Path) -> Path:
    """Check a figure's file name before the work that draws it: a .png file, not a folder."""
    if path.is_dir():
        raise ConfigError(f"{path} is a folder; --out takes a {FIGURE_SUFFIX} file name")
    if path.suffix.lower() != FIGURE_SUFFIX:
        raise ConfigError(f"--out {path} must end in {FIGURE_SUFFIX} (figures are written as PNG)")
    return path


# ---------------------------------------------------------------------------------------
# What a run folder holds


def same_run(a: Config, b: Config) -> bool:
    """The same run, whatever the settings that a resume may change (device, workers, progress)."""
    return dataclasses.replace(b, **{k: getattr(a, k) for k in PLACE_FIELDS}) == a


def same_range_test(a: Config, b: Config) -> bool:
    """The same range test: the same settings of those it depends on, wherever it runs."""
    return all(getattr(a, k) == getattr(b, k) for k in RANGE_TEST_FIELDS if k not in PLACE_FIELDS)


def saved_config(folder: Path) -> Config | None:
    """The config a run folder holds (config.json), or None when it holds none that this version reads."""
    try:
        return Config.from_dict(json.loads((folder / "config.json").read_text()))
    except (OSError, ValueError, TypeError, InputError):
        return None


def finished(folder: Path, cfg: Config) -> dict | None:
    """The metrics of a finished run of ``cfg`` in ``folder``, or None."""
    saved = saved_config(folder)
    try:
        done = json.loads((folder / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return done if saved is not None and same_run(cfg, saved) else None


def unfinished(folder: Path, cfg: Config) -> dict | None:
    """The checkpoint of an interrupted run of ``cfg`` in ``folder``, to resume, or None: none there, a
    finished run's, another config's, or a finished sweep point's weights alone (no optimizer state)."""
    from . import checkpoint

    path = folder / "checkpoint.pt"
    if not path.is_file() or (folder / "metrics.json").exists():
        return None
    try:
        ckpt = checkpoint.load(path)
    except InputError:
        return None
    return ckpt if same_run(cfg, ckpt["config"]) and checkpoint.resumable(ckpt) else None
