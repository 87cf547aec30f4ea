"""The notebook's tries: each range test and each training run a run folder under one run directory,
so that rerunning a cell shows, continues or adds a try instead of overwriting one.

    search = range_test(state, run_dir)             # the saved test of this config, or a fresh one
    trial = train(state, run_dir, lr_min, lr_max)   # this config and pair: shown, continued, or trained anew
    print(table(run_dir)); plots.tries(curves(run_dir))

A try's folder is what ``s11 train`` writes (``training.train_job``: the same files, a checkpoint after
every epoch), and a range test's what ``s11 find-lr`` writes, so ``train --resume``, ``gradcam`` and
``summary`` read them too. The pair a try trains at is recorded as it came: found by the range test
(``lr_rule`` and the test's note in metrics.json, lr_finder.json beside it) or given (``lr_rule`` null).
"""

from __future__ import annotations

import csv
import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from . import voice
from .config import Config, InputError
from .lr_rules import FoundLR, LRSearch
from .outputs import claimed, contents, finished, range_test_differences, refuse_file, same_run, saved_config, unfinished

TRY, RANGE_TEST = "try", "range-test"  # folder names: try-1, try-2, ...; range-test-1, ...


@dataclass(frozen=True)
class Try:
    """One training try in the run directory."""

    folder: Path
    cfg: Config  # as recorded: min_lr and max_lr None where the range test found them
    metrics: dict  # metrics.json's content
    how: str  # "trained", "continued after epoch K", or "shown" (finished earlier, not trained again)


def numbered(run_dir: Path, kind: str) -> list[Path]:
    """The folders ``kind``-N in ``run_dir``, by N."""
    found = [(int(m[1]), p) for p in Path(run_dir).glob(f"{kind}-*")
             if p.is_dir() and (m := re.fullmatch(rf"{kind}-(\d+)", p.name))]
    return [p for _, p in sorted(found)]


def _new_folder(run_dir: Path, kind: str) -> Path:
    taken = numbered(run_dir, kind)
    return Path(run_dir) / f"{kind}-{int(taken[-1].name.rsplit('-', 1)[1]) + 1 if taken else 1}"


def range_test(state, run_dir: Path) -> LRSearch:
    """The range test of ``state.cfg``: the one a folder of ``run_dir`` saved, read back (the same pair),
    or a fresh one on a new model and loaders of the config's seed, whatever ran before in this process,
    saved as ``find-lr`` saves it. Kept in ``state.search`` for ``train``; returns it.
    """
    from . import range_tests

    refuse_file(Path(run_dir), "run directory")
    for folder in numbered(run_dir, RANGE_TEST):
        try:
            search = range_tests.saved_search(folder, state.cfg)
        except InputError:  # none there, another config's, or read otherwise by this version's rules
            continue
        print(f"the saved range test of this config, {folder} (it took {search.seconds:.0f} s): "
              f"LRMIN {search.lr_min:.4g}, LRMAX {search.lr_max:.4g} ({search.note}); delete that folder to run it again")
        for warning in search.warnings:
            print(f"warning: LR range test: {warning}")
        range_tests.use_search(state, search)
        return search
    with claimed(_new_folder(run_dir, RANGE_TEST)) as folder:
        search = range_tests.find_lr_job(state.cfg, folder, state.data)
    range_tests.use_search(state, search)
    return search


def pair_config(cfg: Config, search: LRSearch | None, lr_min: float, lr_max: float) -> tuple[Config, LRSearch | None]:
    """The config a try of this pair records, and the range test it records with it: ``cfg`` and the range
    test when the pair is the one that test gives ``cfg``; else ``cfg`` with the pair given. The test is the
    one the pair carries (``choose_lrs`` returns ``FoundLR``s, which keep it through a rerun of the data
    cell), else ``search``, the state's."""
    from .range_tests import choose_lrs

    carried = {id(v.search): v for v in (lr_min, lr_max) if isinstance(v, FoundLR)}
    if len(carried) == 1:  # the test the pair was found by, when it is a test of this config's
        lr = next(iter(carried.values()))
        if lr.cfg is not None and not range_test_differences(cfg, lr.cfg):
            search = lr.search
    if search is not None and search.trusted:
        try:
            chosen = choose_lrs(cfg, search)
        except InputError:
            chosen = None
        if chosen == (lr_min, lr_max):
            return cfg, search
    return dataclasses.replace(cfg, min_lr=lr_min, max_lr=lr_max), None


def pair_source(state, lr_min: float, lr_max: float) -> str:
    """Where a try of this pair gets it: "found by the LR range test (... rule)" or "given"."""
    from .figures import lr_source

    return lr_source(recorded_rule(pair_config(state.cfg, state.search, lr_min, lr_max)[0]))


def trained_pair(folder: Path, cfg: Config) -> tuple[float | None, float | None]:
    """The pair a try folder of ``cfg`` trains at: the config's given LRs, else its range test's."""
    try:
        found = json.loads((folder / "lr_finder.json").read_text())
    except (OSError, ValueError):
        found = {}
    return (cfg.min_lr if cfg.min_lr is not None else found.get("lr_min"),
            cfg.max_lr if cfg.max_lr is not None else found.get("lr_max"))


def recorded_rule(cfg: Config) -> str | None:
    """The rule that found a try's pair, None when the config gives both LRs."""
    return cfg.lr_rule if cfg.min_lr is None or cfg.max_lr is None else None


def train(state, run_dir: Path, lr_min: float, lr_max: float) -> Try:
    """The try of ``state.cfg`` at this pair, in ``run_dir``: a finished one is shown, not trained again;
    an unfinished one continues from its last checkpoint; otherwise a new folder, trained as ``s11 train``
    trains (on ``state.data``, a fresh model of the seed). The pair is recorded as found when it is the
    range test's (``state.search``, from ``range_test``), else as given."""
    from . import records, training
    from .figures import lr_source

    refuse_file(Path(run_dir), "run directory")
    cfg, search = pair_config(state.cfg, state.search, lr_min, lr_max)
    source = lr_source(recorded_rule(cfg))
    for folder in numbered(run_dir, TRY):
        saved = saved_config(folder)
        if saved is None or not same_run(cfg, saved) or trained_pair(folder, saved) != (lr_min, lr_max):
            continue
        done = finished(folder, cfg)
        if done is not None:
            print(f"{folder.name} ({folder}) finished this config and pair earlier: shown, not trained again "
                  "(delete its folder to train it again)\n" + records.report(done))
            return Try(folder, cfg, done, "shown")
        ckpt = unfinished(folder, cfg)
        if ckpt is None and (folder / "checkpoint.pt").is_file():
            from .checkpoint import load

            try:
                load(folder / "checkpoint.pt")
            except InputError as e:  # cut short, say: nothing can continue it, and a silent new try would hide that
                raise InputError(f"{folder.name} trained this config and pair, but cannot be continued: {e}; delete "
                                 f"{folder} and run this cell again to train the pair anew") from None
        if ckpt is not None:
            print(f"{folder.name} ({folder}): continuing after epoch {ckpt['epoch']} of {cfg.epochs}")
            with claimed(folder, resume=True) as claim:
                m = training.train_job(cfg, claim, state.data, resume=ckpt)
            return Try(folder, cfg, m, f"continued after epoch {ckpt['epoch']}")
    with claimed(_new_folder(run_dir, TRY)) as claim:
        print(f"{claim.path.name}: a new try at LRMIN {lr_min:.4g}, LRMAX {lr_max:.4g} ({source}), into {claim.path}")
        m = training.train_job(cfg, claim, state.data, search=search)
    return Try(claim.path, cfg, m, "trained")


def _progress(folder: Path, finished_run: bool) -> tuple[list[dict], str]:
    """A try's rows per epoch (history.csv once finished, else its checkpoint's epochs so far) and the table's
    last column (finished, or how an unfinished try goes on, if it can), the checkpoint read once."""
    history = None
    if (folder / "history.csv").is_file():
        with open(folder / "history.csv") as f:
            history = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]
        if finished_run:
            return history, "finished"
    from . import checkpoint

    try:
        saved = checkpoint.load(folder / "checkpoint.pt")["history"]
        status = f"unfinished: {voice.say('continue')}"
    except InputError:
        saved, status = [], "unfinished, its checkpoint.pt cannot be read: delete the folder to train the pair anew"
    return (saved if history is None else history), ("finished" if finished_run else status)


def run_folders(run_dir: Path, *kinds: str) -> list[Path]:
    """The run folders in ``run_dir`` that hold one of ``kinds`` (``outputs.contents``), try-2 before try-10; none
    in a folder not made yet.

    Raises:
        ConfigError: ``run_dir`` is a file.
    """
    refuse_file(Path(run_dir), "run directory")
    if not Path(run_dir).exists():
        return []

    def natural(p: Path) -> list:
        return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.name)]

    return sorted((p for p in Path(run_dir).iterdir() if p.is_dir() and (contents(p) or ("",))[0] in kinds), key=natural)


def tried(run_dir: Path) -> list[dict]:
    """Every training run in ``run_dir`` (the notebook's tries, or any train runs' folders): {"name", "lr_min",
    "lr_max", "source", "epochs", "done" (epochs trained), "test_accuracy" (the last epoch's),
    "test_accuracy_tta" (finished runs), "finished", "status" (the table's words), "history"}."""
    from .figures import lr_source

    rows = []
    for folder in run_folders(run_dir, "finished", "unfinished"):
        cfg = saved_config(folder)
        if cfg is None:
            continue
        m = finished(folder, cfg)
        history, status = _progress(folder, m is not None)
        lr_min, lr_max = trained_pair(folder, cfg)
        rows.append({"name": folder.name, "lr_min": lr_min, "lr_max": lr_max, "source": lr_source(recorded_rule(cfg)),
                     "epochs": cfg.epochs, "done": len(history), "finished": m is not None,
                     "status": status,
                     "test_accuracy": history[-1]["test_acc"] if history else None,
                     "test_accuracy_tta": m["test_accuracy_tta"] if m else None, "history": history})
    return rows


def table(run_dir: Path) -> str:
    """The training runs (the notebook's tries) side by side: pair, how it was found, epochs done, accuracy;
    then the range tests."""
    rows = tried(run_dir)
    w = max([7, *(len(r["name"]) for r in rows)])
    lines = [f"{'run':<{w}} {'LRMIN':>9} {'LRMAX':>9}  {'LRs':<42} {'epochs':>7}  {'test acc':>8}  {'TTA':>6}  status"]
    for r in rows:
        acc = f"{r['test_accuracy']:.2f}" if r["test_accuracy"] is not None else "-"
        tta = f"{r['test_accuracy_tta']:.2f}" if r["test_accuracy_tta"] is not None else "-"
        pair = [f"{v:>9.4g}" if v is not None else f"{'-':>9}" for v in (r["lr_min"], r["lr_max"])]
        lines.append(f"{r['name']:<{w}} {pair[0]} {pair[1]}  {r['source']:<42} {r['done']:>3}/{r['epochs']:<3}  {acc:>8}  "
                     f"{tta:>6}  {r['status']}")
    if not rows:
        lines.append("(no training run yet)")
    for folder in run_folders(run_dir, "range-test"):
        try:
            found = json.loads((folder / "lr_finder.json").read_text())
        except (OSError, ValueError):
            continue
        lines.append(f"{folder.name}: LRMIN {found['lr_min']:.4g}, LRMAX {found['lr_max']:.4g} ({found['note']})")
    return "\n".join(lines)


def curves(run_dir: Path) -> list[dict]:
    """Each try's test accuracy per epoch, for ``plots.tries``: {"label", "epochs", "accuracy"}."""
    return [{"label": f"{r['name']}: {r['lr_min']:.3g} / {r['lr_max']:.3g}, {r['source']}"
                      + ("" if r["finished"] else f" ({r['done']}/{r['epochs']} epochs)"),
             "epochs": [h["epoch"] for h in r["history"]], "accuracy": [h["test_acc"] for h in r["history"]]}
            for r in tried(run_dir) if r["history"]]
