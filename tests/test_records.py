"""The numbers README, bench/RESULTS.md and the committed notebook give for the full runs are the ones their
records hold (bench/results/, written by bench/record_cpu_run.py from each run's own files): a number copied
by hand into a page is checked against the file it was copied from."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
RECORDS = {"2026-12-05-cpu-bf16": "## 25. ", "2026-12-04-cpu-bf16": "## 22. "}  # README's full-run rows
NOTEBOOK_RECORD = "2026-12-05-cpu-bf16"  # the run whose outputs the committed notebook holds


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
               if line.startswith("| ") and f"`{m['commit']}`" in line and "24 epochs, the notebook's defaults" in line)
    assert re.search(rf"\| \**{m['test_accuracy']:.2f}\** \({m['test_accuracy_tta']:.2f} with flip TTA\)", row), row
    assert f"LRs found: {m['min_lr']:.4g} / {m['max_lr']:.4g}" in row
    assert f"{m['train_seconds']:,.0f} s ({m['train_seconds'] / 3600:.2f} h" in row and m["epochs"] == 24


@pytest.mark.parametrize("record", RECORDS)
def test_results_lists_the_records_accuracy_after_every_epoch(record):
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), RECORDS[record])
    listed = re.search(r"test accuracy after epochs 1-24: ([\d., ()a-zA-Z]+?)%", text).group(1)
    numbers = [float(n) for n in re.findall(r"\d+\.\d+", listed)]
    assert numbers == recorded_test_accuracies(record)
    m = metrics(record)
    assert f"Test accuracy **{m['test_accuracy']:.2f}%** ({m['test_accuracy_tta']:.2f}% with flip TTA" in text


def test_the_notebooks_epoch_lines_are_the_records_history():
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    printed = "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    shown = [float(a) for a in re.findall(r"^epoch +\d+/24 .* acc [\d.]+%  test loss [\d.]+ acc ([\d.]+)%", printed, re.M)]
    assert shown == recorded_test_accuracies(NOTEBOOK_RECORD)
    assert f"with flip TTA {metrics(NOTEBOOK_RECORD)['test_accuracy_tta']:.2f}%" in printed
    assert "Exception ignored" not in printed and "Traceback" not in printed
