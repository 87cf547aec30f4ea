"""The numbers README, bench/RESULTS.md and the committed notebook give for the full runs are the ones their
records hold (bench/results/, written by bench/record.py from each run's own files): a number copied
by hand into a page is checked against the file it was copied from."""

from __future__ import annotations

import csv
import json
import re
import statistics
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
# README's full-run rows of the recipe: the record, its section of bench/RESULTS.md and where in it the run is told
RECORDS = {"2026-12-05-cpu-bf16": ("## 25. ", ""), "2026-12-04-cpu-bf16": ("## 22. ", ""),
           "2026-12-06-default-cpu-bf16/seed-2": ("## 26. ", "**Our recipe, seed 2.**"),
           "2026-12-06-notebook-seed-3-cpu-bf16": ("## 26. ", "**Our recipe, seed 3 (the notebook's run).**")}
NOTEBOOK_RECORD = "2026-12-06-notebook-seed-3-cpu-bf16"  # the run whose outputs the committed notebook holds
# README's headline: the recipe's three distinct seeds on one machine, their median and lowest
RECIPE_SEEDS = ("2026-12-05-cpu-bf16", "2026-12-06-default-cpu-bf16/seed-2", "2026-12-06-notebook-seed-3-cpu-bf16")
PEER_RECORD = "2026-12-06-peer-cpu"  # airbench94 on the same pixels, on the CPU: a metrics.json per seed
PAGE_RECORD = "2026-12-06-page-cpu-bf16"  # Page's schedule (0 -> 0.4 -> 0) in our code, seed 1
STEP_RECORD = "2026-12-06-step-cpu-bf16"  # He et al.'s step schedule at LR 0.1 in our code, seed 1


def metrics(record: str) -> dict:
    return json.loads((RESULTS / record / "metrics.json").read_text())


def recorded_test_accuracies(record: str) -> list[float]:
    with open(RESULTS / record / "history.csv", newline="") as f:
        return [float(row["test_acc"]) for row in csv.DictReader(f)]


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


@pytest.mark.parametrize("record", RECORDS)
def test_readmes_row_is_the_records_run(record):
    m = metrics(record)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines()
               if line.startswith("| 24 epochs, the notebook's defaults") and f"`{m['commit']}`" in line)
    assert re.search(rf"\| \**{m['test_accuracy']:.2f}\** \({m['test_accuracy_tta']:.2f} with flip TTA\)", row), row
    assert f"LRs found: {m['min_lr']:.4g} / {m['max_lr']:.4g}" in row
    assert f"{m['train_seconds']:,.0f} s ({m['train_seconds'] / 3600:.2f} h" in row and m["epochs"] == 24


@pytest.mark.parametrize("record", RECORDS)
def test_results_lists_the_records_accuracy_after_every_epoch(record):
    heading, told = RECORDS[record]
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), heading)
    text = text.split(told)[1] if told else text
    listed = re.search(r"test accuracy after epochs 1-24: ([\d.,\s()a-zA-Z]+?)%", text).group(1)
    numbers = [float(n) for n in re.findall(r"\d+\.\d+", listed)]
    assert numbers == recorded_test_accuracies(record)
    m = metrics(record)
    assert f"Test accuracy **{m['test_accuracy']:.2f}%** ({m['test_accuracy_tta']:.2f}% with flip TTA" in text


def test_readmes_headline_is_the_median_of_three_distinct_seeds_of_the_defaults():
    runs = [metrics(record) for record in RECIPE_SEEDS]
    assert sorted(m["seed"] for m in runs) == [1, 2, 3] and len({m["device_name"] for m in runs}) == 1
    for m in runs:
        assert (m["epochs"], m["train_images"], m["test_images"], m["lr_rule"], m["augment"], m["schedule"]) == (
            24, 50_000, 10_000, "diverge", "albumentations", "one-cycle")
    finals = [m["test_accuracy"] for m in sorted(runs, key=lambda m: m["seed"])]
    median, median_tta = statistics.median(finals), statistics.median(m["test_accuracy_tta"] for m in runs)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| **our recipe"))
    assert f"(n = 3): {' / '.join(f'{a:.2f}' for a in finals)}, lowest {min(finals):.2f}" in row, row
    assert f"| **{median:.2f}** ({median_tta:.2f} with flip TTA) |" in row, row
    assert all(f"`{m['commit']}`" in row for m in runs), row
    stands = section((ROOT / "bench" / "RESULTS.md").read_text(), "## Where things stand")
    assert f"median **{median:.2f}%** (lowest {min(finals):.2f}%), {median_tta:.2f}% with flip TTA" in stands


def test_the_notebooks_epoch_lines_are_the_records_history():
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    printed = "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    shown = [float(a) for a in re.findall(r"^epoch +\d+/24 .* acc [\d.]+%  test loss [\d.]+ acc ([\d.]+)%", printed, re.M)]
    assert shown == recorded_test_accuracies(NOTEBOOK_RECORD)
    assert f"with flip TTA {metrics(NOTEBOOK_RECORD)['test_accuracy_tta']:.2f}%" in printed
    assert "Exception ignored" not in printed and "Traceback" not in printed


def test_the_figures_page_names_the_run_its_pictures_came_from():
    m = metrics(NOTEBOOK_RECORD)
    text = (ROOT / "docs" / "model-and-figures.md").read_text()
    told = text.split("## Training curves")[1].split("![")[0]
    assert f"(LRMIN {m['min_lr']:.3g}, LRMAX {m['max_lr']:.3g}, 98 batches an epoch), {m['test_accuracy']:.2f}% test accuracy, seed {m['seed']}, commit `{m['commit']}`" in " ".join(told.split())


def peer_runs() -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((RESULTS / PEER_RECORD).glob("seed-*/metrics.json"))]


def test_the_peers_records_name_what_the_side_by_side_needs():
    runs = peer_runs()
    assert runs and [m["seed"] for m in runs] == list(range(1, len(runs) + 1))
    for m in runs:
        assert m["peer"] == "airbench94 (airbench 0.1.8)" and m["airbench_version"] == "0.1.8" and m["commit"]
        assert m["precision"] == "float32" and m["device_name"] and m["epochs"] == 9.9 and len(m["patches"]) == 5


def test_results_and_readme_give_the_peers_records():
    runs = peer_runs()
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), "## 26. ")
    for m in runs:
        assert (f"| {m['seed']} | {m['test_accuracy']:.2f} | {m['test_accuracy_tta']:.2f} | {m['epochs']} | "
                f"{m['train_seconds']:,.0f} |") in text
    median = statistics.median(m["test_accuracy"] for m in runs)
    median_tta = statistics.median(m["test_accuracy_tta"] for m in runs)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| the peer: airbench94"))
    assert f"(n = {len(runs)})" in row and f"**{median:.2f}** ({median_tta:.2f} with its TTA" in row
    assert f"`{runs[0]['commit']}`" in row


def test_the_side_by_side_figure_was_drawn_from_every_full_size_record_there_is():
    """images/side_by_side.png's sidecar (what bench/side_by_side_figure.py drew) is what the records hold
    now: a record added without drawing the figure again, or a run counted in the wrong group, fails."""
    import sys

    sys.path.insert(0, str(ROOT / "bench"))
    import side_by_side_figure as figure

    drawn = json.loads((ROOT / "images" / "side_by_side.json").read_text())
    assert drawn == [{k: g[k] for k in ("label", "folders", "finals")} for g in figure.collect(RESULTS)]
    groups = {g["label"]: g for g in drawn}
    assert sorted(groups[figure.PEER]["folders"]) == [f"{PEER_RECORD}/seed-{m['seed']}" for m in peer_runs()]
    assert set(RECORDS) <= set(groups[figure.FOUND]["folders"])  # README's rows of the recipe, every one
    for g in drawn:
        for folder, final in zip(g["folders"], g["finals"]):
            assert final == round(json.loads((RESULTS / folder / "metrics.json").read_text())["test_accuracy"], 2)


def test_readme_and_results_give_page_schedules_record():
    m, config = metrics(PAGE_RECORD), json.loads((RESULTS / PAGE_RECORD / "config.json").read_text())
    assert (m["min_lr"], m["max_lr"], m["lr_rule"], config["schedule"], m["epochs"], m["train_images"]) == (
        0.0, 0.4, None, "one-cycle", 24, 50_000)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| Page's schedule"))
    assert f"| {m['test_accuracy']:.2f} ({m['test_accuracy_tta']:.2f} with flip TTA) | {m['train_seconds']:,.0f} s" in row
    assert f"`{m['commit']}`, `bench/results/{PAGE_RECORD}/`" in row
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), "## 26. ")
    listed = re.search(r"after epochs 1-24: ([\d.,\s]+?)%", text.split("**Page's schedule, seed 1.**")[1]).group(1)
    assert [float(n) for n in re.findall(r"\d+\.\d+", listed)] == recorded_test_accuracies(PAGE_RECORD)
    assert f"Test accuracy **{m['test_accuracy']:.2f}%** ({m['test_accuracy_tta']:.2f}% with flip TTA)" in text


def test_readme_and_results_give_the_step_schedules_record():
    m, config = metrics(STEP_RECORD), json.loads((RESULTS / STEP_RECORD / "config.json").read_text())
    assert (config["schedule"], m["max_lr"], m["lr_rule"], m["epochs"], m["train_images"]) == ("step", 0.1, None, 24, 50_000)
    with open(RESULTS / STEP_RECORD / "history.csv", newline="") as f:
        lrs = [float(row["lr"]) for row in csv.DictReader(f)]
    assert lrs[:12] == [0.1] * 12 and lrs[12:18] == pytest.approx([0.01] * 6) and lrs[18:] == pytest.approx([0.001] * 6)
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| the step schedule"))
    assert f"| {m['test_accuracy']:.2f} ({m['test_accuracy_tta']:.2f} with flip TTA) | {m['train_seconds']:,.0f} s" in row
    assert f"`{m['commit']}`, `bench/results/{STEP_RECORD}/`" in row
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), "## 26. ").split("**The step schedule, seed 1.**")[1]
    listed = re.search(r"after epochs 1-24: ([\d.,\s]+?)%", text).group(1)
    assert [float(n) for n in re.findall(r"\d+\.\d+", listed)] == recorded_test_accuracies(STEP_RECORD)
    assert f"Test accuracy **{m['test_accuracy']:.2f}%** ({m['test_accuracy_tta']:.2f}% with flip TTA)" in text
