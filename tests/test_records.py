"""The numbers README, bench/RESULTS.md and the committed notebook give for the full run are the ones its
record holds (bench/results/, written by bench/record_cpu_run.py from the run's own files): a number copied
by hand into a page is checked against the file it was copied from."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "bench" / "results" / "2026-12-04-cpu-bf16"  # README's first results row
RESULTS_SECTION = "## 22. "


def metrics() -> dict:
    return json.loads((RECORD / "metrics.json").read_text())


def recorded_test_accuracies() -> list[float]:
    with open(RECORD / "history.csv", newline="") as f:
        return [float(row["test_acc"]) for row in csv.DictReader(f)]


def section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n## ", start + 1)
    return text[start:] if end < 0 else text[start:end]


def test_readmes_first_row_is_the_records_run():
    m = metrics()
    row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| **24 epochs"))
    assert f"**{m['test_accuracy']:.2f}** ({m['test_accuracy_tta']:.2f} with flip TTA)" in row
    assert f"LRs found: {m['min_lr']:.4g} / {m['max_lr']:.4g}" in row
    assert f"{m['train_seconds']:,.0f} s ({m['train_seconds'] / 3600:.2f} h" in row
    assert f"`{m['commit']}`" in row and m["epochs"] == 24


def test_results_lists_the_records_accuracy_after_every_epoch():
    text = section((ROOT / "bench" / "RESULTS.md").read_text(), RESULTS_SECTION)
    listed = re.search(r"test accuracy after epochs 1-24: ([\d., ()a-zA-Z]+?)%", text).group(1)
    numbers = [float(n) for n in re.findall(r"\d+\.\d+", listed)]
    assert numbers == recorded_test_accuracies()
    m = metrics()
    assert f"Test accuracy **{m['test_accuracy']:.2f}%** ({m['test_accuracy_tta']:.2f}% with flip TTA" in text


def test_the_notebooks_epoch_lines_are_the_records_history():
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    printed = "".join(o.text for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream")
    shown = [float(a) for a in re.findall(r"^epoch +\d+/24 .* acc [\d.]+%  test loss [\d.]+ acc ([\d.]+)%", printed, re.M)]
    assert shown == recorded_test_accuracies()
    assert "Exception ignored" not in printed and "Traceback" not in printed
