"""The LR range test as a step of a run: run it on a run's state (``search_lrs``), choose the pair to train at
(``choose_lrs``), write its files and read them back (``write_search``, ``saved_search``), and the
``find-lr`` job that does only this. ``lr_finder.py`` runs the test itself, ``lr_rules.py`` reads its curve.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from . import figures, voice
from .config import Config, ConfigError, InputError, Interrupted
from .datasets import Cifar10
from .lr_finder import find_lrs
from .lr_rules import PAGES_PEAK, FoundLR, LRSearch, median_pair, read_curve
from .outputs import RunFolder, range_test_differences, saved_config
from .steps import State, prepare


class UntrustedLRs(InputError):
    """The range test could not read the curve, and no LR was given in its place."""


def search_lrs(state: State) -> LRSearch:
    """``cfg.finder_repeat`` range tests on ``state``'s model and loader (the model comes back unchanged,
    the loader's streams do not); kept in ``state.search`` with how long they took."""
    t0 = time.perf_counter()
    search = find_lrs(state.model, state.cfg, state.train_loader, state.device)
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


def find_lr_job(cfg: Config, folder: RunFolder, data: Cifar10 | None = None) -> LRSearch:
    """The range test(s) alone, on a fresh model and loaders of ``cfg``'s seed, into ``folder``:
    config.json, lr_finder.png and lr_finder.json (curves and picks)."""
    try:
        state = prepare(cfg, data)
        search = search_lrs(state)
    except KeyboardInterrupt:
        raise Interrupted(f"interrupted while running the LR range test; nothing was written: {voice.say('again')}") from None
    folder.write("config.json", text=cfg.to_json())
    write_search(folder, cfg, search)
    for message in search.warnings:
        print(f"warning: LR range test: {message}", file=sys.stderr)
    print(f"LRMIN {search.lr_min:.4g}\nLRMAX {search.lr_max:.4g}\n({search.note}; "
          f"{sum(len(t.lrs) for t in search.tests)} batches; plot in {folder / 'lr_finder.png'})")
    return search
