"""The notebook, executed top to bottom in smoke mode (tiny data, CPU), must produce every figure."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parents[1] / "S11_SuperConvergence.ipynb"
FIGURES = ("augmented", "zigzag", "lr_finder", "one_cycle", "accuracy", "loss", "misclassified", "gradcam")


def test_notebook_has_no_definitions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]
    assert not [line for line in lines if line.lstrip().startswith(("def ", "class "))]


def test_notebook_runs_in_smoke_mode(sources, tmp_path, monkeypatch):
    monkeypatch.setenv("S11_SMOKE", "1")
    monkeypatch.setenv("S11_DATA", str(sources["tar.gz"]))
    monkeypatch.setenv("S11_IMAGES", str(tmp_path / "images"))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    assert sorted(p.stem for p in (tmp_path / "images").glob("*.png")) == sorted(FIGURES)
    shown = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    assert shown >= len(FIGURES) + 1  # every saved figure, plus the planned cycle, inline
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
    assert "test accuracy %" in last and "with flip TTA %" in last and "LRMIN" in last
