"""The notebook, executed top to bottom in smoke mode (tiny data, CPU), must show and save every figure,
and never write over the README's pictures in images/ (nor over itself: it runs from memory)."""

from pathlib import Path

import json

import nbformat
from nbclient import NotebookClient

from s11lib.cli import main

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "S11_SuperConvergence.ipynb"
FIGURES = ("augmented", "zigzag", "lr_finder", "one_cycle", "accuracy", "loss", "confusion", "misclassified", "gradcam",
           "gradcam_pairs")


def test_notebook_has_no_definitions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]
    assert not [line for line in lines if line.lstrip().startswith(("def ", "class ")) or "lambda" in line]


def test_notebook_runs_in_smoke_mode_and_shows_what_the_cli_writes(learnable, tmp_path, monkeypatch):
    """Run from a folder of its own (s11lib found on PYTHONPATH), with no S11_FIGURES: the smoke run's
    figures land in runs/notebook-smoke there. The same tiny job from the command line writes the
    same figures (but the zigzag) and the same metrics keys: both follow s11lib.run."""
    monkeypatch.setenv("S11_SMOKE", "1")
    monkeypatch.setenv("S11_DATA", str(learnable))
    monkeypatch.delenv("S11_FIGURES", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    monkeypatch.setenv("MPLBACKEND", "Agg")  # as in CI: the notebook must still show its figures inline
    readme_pictures = {p.name: p.stat().st_mtime_ns for p in (ROOT / "images").glob("*.png")}
    on_disk = NOTEBOOK.read_bytes()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    smoke = tmp_path / "runs" / "notebook-smoke"
    assert sorted(p.stem for p in smoke.glob("*.png")) == sorted(FIGURES)
    shown = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert shown == len(FIGURES) + 1  # every saved figure, plus the planned cycle, inline
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert "Warning" not in text and "lr 0.0000 " not in text
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "test_accuracy " in last and "test_accuracy_tta" in last and "min_lr" in last
    assert "per-class test accuracy:" in text and "most confused" in text
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "images").glob("*.png")} == readme_pictures
    assert NOTEBOOK.read_bytes() == on_disk

    cli = tmp_path / "cli"
    assert main(["train", "--data", str(learnable), "--out", str(cli), "--subset", "100", "--epochs", "2", "--peak-epoch",
                 "1", "--batch-size", "25", "--workers", "0", "--device", "cpu", "--finder-iters", "8",
                 "--no-progress"]) == 0
    assert sorted(p.stem for p in cli.glob("*.png")) == sorted(set(FIGURES) - {"zigzag"})
    notebook_metrics = json.loads((smoke / "metrics.json").read_text())
    cli_metrics = json.loads((cli / "metrics.json").read_text())
    assert sorted(notebook_metrics) == sorted(cli_metrics)
    for key in ("min_lr", "max_lr", "test_accuracy", "test_accuracy_tta", "confusion_matrix"):
        assert notebook_metrics[key] == cli_metrics[key], key
