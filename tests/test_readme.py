"""Every command README and docs/ show runs here on the real offline CIFAR-10 copy, as written (the
data path made absolute, outputs into a temporary folder), or the comment line above it says why
not; every repository file they name exists. The smoke run is trained once and the other commands
read it."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys

import nbformat
import pytest

from conftest import HANG
from readme import (BLOWN, GRADCAM, PAGES, ROOT, RUN_HERE, SUMMARY, SWEEP, argv,
                    readme_commands)
from s11lib.cli import main
from s11lib.config import SMOKE_RUN, Config
from s11lib.outputs import TRAIN_OUTPUTS

pytestmark = pytest.mark.usefixtures("real_net")  # numbers compared with the real net's, or on the real data

SHOWN = ("augmented", "zigzag", "lr_finder", "planned cycle", "lr_schedule", "accuracy", "loss", "confusion",
         "misclassified", "gradcam", "gradcam_pairs", "tries", "side_by_side")  # the notebook's inline pictures, in order

def test_every_command_readme_shows_is_run_here_or_says_why_not():
    commands = readme_commands()
    assert {c for c, why in commands if why is None} == set(RUN_HERE)
    assert all(why for c, why in commands if c not in RUN_HERE)  # a reason, not an empty comment


TOP = ("s11lib/", "tests/", "bench/", "docs/", "images/", ".ci/")  # a backticked path under these is the repository's


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_file_a_page_names_exists(page):
    """Links and images, and backticked paths of the repository (outputs such as `runs/x` or `DIR/...` are not)."""
    text = page.read_text()
    named = re.findall(r"\]\(([^)#\s]+)\)", text)
    named += [w for w in re.findall(r"`([^`\s]+)`", text) if w.startswith(TOP) or w in (
        "README.md", "requirements.txt", "requirements-dev.txt", "pyproject.toml", "S11_SuperConvergence.ipynb")]
    missing = [n for n in named if not n.startswith("http") and not (page.parent / n).exists()
               and not (ROOT / n).exists()]
    assert not missing, missing
    assert not re.search(r"\bissues? \d|#\d", text, flags=re.I), "issue numbers belong to the tracker, not the docs"


def test_readme_is_for_readers():
    """Short, install first, pictures of the full run inline; commits only in the results table's rows."""
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200
    assert next(i for i, line in enumerate(lines) if line.startswith("pip install")) < 40
    pictures = [line for line in lines if line.startswith("![")]
    assert {"lr_finder.png", "accuracy.png", "gradcam_pairs.png"} <= {p.split("/")[-1].rstrip(")") for p in pictures}
    prose = [line for line in lines if not line.startswith("|")]
    assert not [line for line in prose if re.search(r"`[0-9a-f]{7}`", line)]


def test_the_smoke_command_is_the_notebooks_smoke_run_and_trains_on_the_real_data(smoke):
    saved = Config.from_dict(json.loads((smoke / "config.json").read_text()))
    assert {k: getattr(saved, k) for k in SMOKE_RUN} == SMOKE_RUN
    assert sorted(p.name for p in smoke.iterdir() if not p.name.startswith(".")) == sorted(TRAIN_OUTPUTS)
    finder = json.loads((smoke / "lr_finder.json").read_text())
    assert finder["trusted"] and finder["warnings"] == [], finder["note"]  # the curve can be read
    metrics = json.loads((smoke / "metrics.json").read_text())
    assert metrics["train_images"] == 500 and metrics["test_images"] == 100
    assert sum(sum(row) for row in metrics["confusion_matrix"]) == 100
    # It learned: a uniform guess's loss is ln 10 = 2.303; the smoke run's test loss was 2.084 (26.00%, the
    # AMD EPYC in fp32, range test from 1e-4), 2.061 (17.00%, the Intel Xeon in bf16, from 1e-3) and, since
    # ff542b9 changed the loader's draws, 1.980 (28.00%, that Xeon; bench/RESULTS.md sections 17, 21 and 24).
    # On 100 test images the accuracy is noise around the loss.
    assert metrics["test_loss"] < 2.2 and metrics["test_accuracy"] > 10.0


def test_the_find_lr_command_finds_the_pair_the_smoke_run_trains_at(smoke):
    """README's find-lr line ran first (conftest's `smoke`), and `train --lr-from` read its test back: the run
    records the pair as found, with the test's files. That a range test of its own gives the same pair: the
    notebook's (test_the_notebooks_smoke_command_gives_the_smoke_runs_numbers), and tests/test_cli.py."""
    found = json.loads((smoke.parent / "smoke-lr" / "lr_finder.json").read_text())
    trained = json.loads((smoke / "metrics.json").read_text())
    assert found["trusted"] and (found["lr_min"], found["lr_max"]) == (trained["min_lr"], trained["max_lr"])
    assert (trained["lr_rule"], trained["lr_finder_note"]) == ("diverge", found["note"])
    assert json.loads((smoke / "lr_finder.json").read_text())["tests"] == found["tests"]


def test_the_gradcam_command_draws_the_smoke_runs_mistakes(smoke, offline_copy, tmp_path, capsys):
    assert main(argv(GRADCAM, offline_copy, smoke.parent.parent)) == 0
    assert (smoke / "gradcam_both.png").stat().st_size > 0
    confusion = json.loads((smoke / "metrics.json").read_text())["confusion_matrix"]
    wrong = 100 - sum(confusion[i][i] for i in range(10))
    assert f"(the 25 worst of the {wrong} misclassified test images, of 100, from ImageFolder" in capsys.readouterr().out


def test_the_notebooks_smoke_command_gives_the_smoke_runs_numbers(smoke, notebook_smoke):
    """README's nbconvert line (conftest's `notebook_smoke`): a range test and a try in the run directory,
    written as find-lr and train write theirs, every picture shown inline, the same LRs, accuracy and
    confusion matrix as the command line's smoke run, and the README's pictures untouched."""
    nb = nbformat.read(notebook_smoke.executed, as_version=4)
    run_dir = notebook_smoke.run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["range-test-1", "try-1"]
    assert sorted(p.name for p in (run_dir / "try-1").iterdir() if not p.name.startswith(".")) == sorted(TRAIN_OUTPUTS)
    shown = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert shown == len(SHOWN)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Warning" not in text and "warning:" not in text and "per-class test accuracy:" in text
    assert "try-1: a new try at" in text and "found by the LR range test (diverge rule)" in text
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "images").glob("*.png")} == notebook_smoke.readme_pictures
    ours, cli = (json.loads((d / "metrics.json").read_text()) for d in (run_dir / "try-1", smoke))
    assert sorted(ours) == sorted(cli)
    for key in ("min_lr", "max_lr", "lr_rule", "test_accuracy", "test_accuracy_tta", "confusion_matrix"):
        assert ours[key] == cli[key], key


def test_the_small_sweep_on_the_real_data_keeps_its_diverged_run_out_of_the_results(offline_copy, tmp_path, capsys):
    """README's sweep: LR 50 blows up on the real data (a `diverged` row, never a point's result), the others
    finish; no `done` row's history holds a loss that is not finite or above the bound; summary prints it again."""
    from s11lib.sweep_report import best_points

    assert main(argv(SWEEP, offline_copy, tmp_path)) == 0
    out = tmp_path / "runs" / "smoke-sweep"
    rows = json.loads((out / "sweep.json").read_text())
    assert [(r["point"], r["status"]) for r in rows] == [("one-cycle-e2-lr0.4", "done"), ("one-cycle-e2-lr50", "diverged")]
    assert "the training loss" in rows[1]["note"] and rows[1]["diverged"] and all(r["host"] for r in rows)
    assert [b["point"] for b in best_points(rows)] == ["one-cycle-e2-lr0.4"]
    with open(out / rows[0]["point"] / "seed-1" / "history.csv") as f:
        history = list(csv.DictReader(f))
    # its result is its run's last epoch (8 steps at LR 0.4 on 200 images: no promise that it learned; it gave
    # 10.00%, chance, on 40 test images after ff542b9 changed the loader's draws, bench/RESULTS.md section 24)
    assert rows[0]["test_accuracy"] == float(history[-1]["test_acc"]) and len(history) == 2
    # a done run's losses are finite and its training loss never exploded (a test loss may spike and recover)
    assert all(float(h["train_loss"]) < 230 and math.isfinite(float(h["test_loss"])) for h in history), history
    capsys.readouterr()
    assert main(argv(SUMMARY, offline_copy, tmp_path)) == 0
    said = capsys.readouterr().out
    assert "one-cycle-e2-lr0.4" in said and "one-cycle-e2-lr50" in said and "diverged" in said


def test_a_run_that_blows_up_on_the_real_data_stops_with_exit_3_and_leaves_nothing(offline_copy, tmp_path, capsys):
    assert main(argv(BLOWN, offline_copy, tmp_path)) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: the training loss reached ") and err.count("\n") == 1, err
    assert "in epoch 1, batch" in err and "which no run that learns reaches" in err
    assert not (tmp_path / "runs" / "blown").exists()


def test_the_notebook_without_s11lib_says_the_two_ways_to_get_it(tmp_path):
    """Its first cell, outside the checkout with s11lib nowhere on the path: one line, no traceback."""
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    setup = next(c.source for c in nb.cells if c.cell_type == "code" and "find_spec" in c.source)
    code = "\n".join(line for line in setup.splitlines() if not line.startswith("%"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = subprocess.run([sys.executable, "-c", "import importlib.util as u; print(u.find_spec('s11lib'))"],
                               cwd=tmp_path, capture_output=True, text=True, env=env).stdout.strip()
    if installed != "None":
        pytest.skip(f"s11lib is installed in this Python ({installed}): the notebook would use it")
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=HANG,
                          env=env)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith('s11lib not found: %pip install "s11lib[notebook] @ git+') and \
        "upload the folder s11lib/ and requirements.txt" in done.stderr
