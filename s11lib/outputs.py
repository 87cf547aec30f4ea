"""Output folders and files: claimed and locked before any work, written one named file at a
time, and left as they were found when a run fails before it trained anything."""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from . import voice
from .config import PLACE_FIELDS, RANGE_TEST_FIELDS, Config, ConfigError, InputError

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; runs into one folder are then not kept apart
    fcntl = None

# Files `train` can write into its folder, in the order they appear.
TRAIN_OUTPUTS = ("config.json", "augmented.png", "lr_finder.png", "lr_finder.json", "checkpoint.pt", "history.csv", "metrics.json",
                 "lr_schedule.png", "accuracy.png", "loss.png", "confusion.png", "misclassified.png", "gradcam.png",
                 "gradcam_pairs.png")
FIND_LR_OUTPUTS = ("config.json", "lr_finder.png", "lr_finder.json")
SWEEP_FILES = ("sweep_config.json", "sweep.csv", "sweep.json", "lr_finder.json", "lr_finder.png", "sweep_lr.png",
               "sweep_curves.png", "sweep_budget.png")
POINT_ROW = "point.json"  # in a sweep point's seed folder once it finished or diverged: its config and its row
REPEATS = "repeats.json"  # train --repeat's summary, once every seed finished
LOCK = ".s11lib.lock"
FIGURE_SUFFIX = ".png"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` whole or not at all: into a temporary file beside it, flushed to disk,
    then renamed over it. A process killed mid-write leaves the old file (or none), never half of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


class DamagedRecord(InputError):
    """A record (metrics.json, sweep.json, ...) that is not what its writer writes: cut short, edited, foreign."""


def read_record(path: Path, keys: tuple[str, ...] = (), fix: str = "", kind: type = dict):
    """The JSON record at ``path``, checked to be a ``kind`` holding ``keys``.

    Raises:
        DamagedRecord: one line naming the file, what is wrong with it and ``fix``, what to do.
    """
    path = Path(path)
    try:
        value = json.loads(path.read_text())
    except (UnicodeDecodeError, ValueError) as e:
        raise DamagedRecord(f"{path} is damaged (not JSON: {getattr(e, 'msg', e)}); {fix}".rstrip("; ")) from None
    missing = [k for k in keys if not isinstance(value, dict) or k not in value]
    if not isinstance(value, kind) or missing:
        what = f"no {', '.join(missing)}" if isinstance(value, kind) else f"a JSON {type(value).__name__}, not a {kind.__name__}"
        raise DamagedRecord(f"{path} is damaged ({what}); {fix}".rstrip("; "))
    return value


def readable(path: Path, keys: tuple[str, ...] = ()) -> bool:
    """Whether ``path`` holds a whole JSON record with ``keys`` (see ``read_record``)."""
    try:
        read_record(path, keys)
    except (OSError, DamagedRecord):
        return False
    return True


def csv_text(rows: list[dict], columns: list[str]) -> str:
    """``rows`` as CSV text under a header of ``columns`` (keys outside them ignored), for ``write_atomic``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def refuse_file(folder: Path, what: str = "output folder", hint: str | None = None) -> None:
    """An output folder that names an existing file is refused (at once: before torch or the data are loaded)."""
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{what} {folder} is a file; {hint or voice.say('folder')}")


def make_dirs(folder: Path, what: str | None = None, hint: str | None = None) -> list[Path]:
    """Create ``folder`` and its missing parents now and check it takes files; returns the folders created.
    ``what`` names the folder in the messages (an output folder by default), ``hint`` says what to do.

    Raises:
        ConfigError: ``folder`` is a file, or cannot be created or written into.
    """
    hint = hint or voice.say("folder")
    refuse_file(folder, what or "output folder", hint)
    missing = [p for p in (folder, *folder.absolute().parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as e:
        remove_empty(missing)
        named = f"{what} {folder}" if what else folder
        raise ConfigError(f"cannot write into {named} ({e.strerror or e}); {hint}") from None
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
            write_atomic(self.path / name, text)
        self.wrote(name)

    def wrote(self, name: str) -> None:
        if name not in self.written:
            self.written.append(name)

    def discard(self) -> None:
        """Remove what this run wrote: it failed before any epoch was kept, so nothing of it is worth keeping."""
        for name in self.written:
            (self.path / name).unlink(missing_ok=True)
        self.written.clear()


def _run_folders(out: Path) -> list[Path]:
    return [p for p in sorted(out.iterdir()) if p.is_dir() and (p / "config.json").is_file()] if out.is_dir() else []


def contents(out: Path) -> tuple[str, str] | None:
    """What ``out`` holds of a command's: (kind, the words that say it), or None when nothing.

    Kinds: "sweep", "repeat" (finished), "repeat-unfinished" (seed folders, no repeats.json yet),
    "point" (a sweep's run), "finished" and "unfinished" (a train run), "range-test" (find-lr's),
    "runs" (a folder of run folders: the notebook's tries), "run" (a config.json alone).
    """
    if not out.is_dir():
        return None
    if (out / "sweep_config.json").exists():
        return "sweep", "a sweep (sweep_config.json)"
    seeds = [p.name for p in out.glob("seed-*") if p.is_dir()]
    if (out / REPEATS).exists():
        return "repeat", f"a finished train --repeat run ({REPEATS})"
    if seeds:
        return "repeat-unfinished", f"an unfinished train --repeat run ({', '.join(sorted(seeds))})"
    if (out / POINT_ROW).exists():
        return "point", f"a sweep's run ({POINT_ROW})"
    if (out / "metrics.json").exists() and (readable(out / "metrics.json") or not (out / "checkpoint.pt").exists()):
        return "finished", "a finished train run (metrics.json)"
    if (out / "checkpoint.pt").exists():
        return "unfinished", "an unfinished train run (checkpoint.pt)"
    if (out / "lr_finder.json").exists():
        return "range-test", "a range test (lr_finder.json, from find-lr)"
    if (out / "config.json").exists():
        return "run", "a run (config.json)"
    runs = _run_folders(out)
    if runs:
        return "runs", f"a folder of runs ({', '.join(p.name + '/' for p in runs[:3])}{', ...' if len(runs) > 3 else ''})"
    return None


def refusal(out: Path, what: str, kind: str) -> str:
    """Why ``out`` is refused and what works instead, in the caller's words (``voice``): resuming only for an
    unfinished train run, never for a finished one."""
    go_on = voice.say("resume", out=out) + "; " if kind == "unfinished" else ""
    return f"{out} holds {what}; {go_on}{voice.say('replace')}"


def hold_lock(out: Path):
    """Lock ``out`` for this process: an open file on ``out``/LOCK holding an exclusive flock. The lock held must
    be the file that is there now: one that another run unlinked between our open and our flock is let go
    and the lock taken again, so that two runs never both hold a folder, in any order of their steps.

    Raises:
        ConfigError: another run holds the folder.
    """
    while True:
        lock = open(out / LOCK, "a")
        if fcntl is None:
            return lock
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise ConfigError(f"another run is writing into {out} right now; wait for it, or {voice.say('elsewhere')}") from None
        except OSError as e:  # ENOLCK, EOPNOTSUPP...: this file system keeps no locks
            print(f"warning: {out} is on a file system without locks ({e.strerror or e}): nothing keeps a second run "
                  "from writing into it at the same time", file=sys.stderr)
            return lock
        try:
            if os.fstat(lock.fileno()).st_ino == os.stat(out / LOCK).st_ino:
                return lock
        except FileNotFoundError:
            pass
        lock.close()  # we locked a file another run had just unlinked: take the lock on the file there now


@contextlib.contextmanager
def claimed(out: Path, *, overwrite: bool = False, resume: bool = False, goes_on: tuple[str, ...] = ()):
    """Hold ``out`` for one run: created, locked against a second run at the same time, and
    refused when it already holds a command's result (``contents``), unless resuming it, unless it is a
    kind of result this command ``goes_on`` with, or with ``overwrite``, which first removes every
    file and run folder of it. Yields a ``RunFolder``."""
    created = make_dirs(out)
    try:
        lock = hold_lock(out)
        try:
            there = contents(out)
            if there is not None and not resume and there[0] not in goes_on:
                if not overwrite:
                    raise ConfigError(refusal(out, there[1], there[0]))
                clear(out)
            yield RunFolder(out)
        finally:
            (out / LOCK).unlink(missing_ok=True)
            lock.close()
    finally:
        remove_empty(created)


def clear(out: Path) -> None:
    """Remove what any command wrote into ``out``: every file a train run, a range test, a repeat or a
    sweep writes, its seed folders, a sweep's point folders and the run folders of a folder of runs."""
    for name in dict.fromkeys((*TRAIN_OUTPUTS, *FIND_LR_OUTPUTS, *SWEEP_FILES, REPEATS, POINT_ROW)):
        (out / name).unlink(missing_ok=True)
    for folder in out.iterdir():
        if folder.is_dir() and (folder.name.startswith("seed-") or (folder / "config.json").is_file()
                                or any(p.is_dir() for p in folder.glob("seed-*"))):
            shutil.rmtree(folder)


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
    """The same run, whatever the settings that a resume may change (device, workers, progress); a peak left to
    its default and the same peak given are the same run."""
    return dataclasses.replace(b, peak_epoch=b.peak, **{k: getattr(a, k) for k in PLACE_FIELDS}) == \
        dataclasses.replace(a, peak_epoch=a.peak)


def range_test_differences(a: Config, b: Config, *, curve_only: bool = False) -> list[str]:
    """The settings a range test depends on that ``a`` and ``b`` set apart (where it runs aside); with
    ``curve_only``, those its curve depends on: the rule that reads the curve (``lr_rule``) aside too."""
    return [k for k in RANGE_TEST_FIELDS if k not in PLACE_FIELDS and not (curve_only and k == "lr_rule")
            and getattr(a, k) != getattr(b, k)]


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
        done = read_record(folder / "metrics.json")
    except (OSError, DamagedRecord):
        return None
    return done if saved is not None and same_run(cfg, saved) else None


def unfinished(folder: Path, cfg: Config) -> dict | None:
    """The checkpoint of an interrupted run of ``cfg`` in ``folder``, to resume, or None: none there, a
    finished run's, another config's, or a finished sweep point's weights alone (no optimizer state)."""
    from . import checkpoint

    path = folder / "checkpoint.pt"
    if not path.is_file() or readable(folder / "metrics.json"):
        return None
    try:
        ckpt = checkpoint.load(path)
    except InputError:
        return None
    return ckpt if same_run(cfg, ckpt["config"]) and checkpoint.resumable(ckpt) else None
