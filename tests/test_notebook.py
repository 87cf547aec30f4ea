"""The notebook stays thin: no function or class of its own (tests/test_readme.py executes it in
smoke mode on the real data, with README's command, and holds it to the command line's numbers)."""

from pathlib import Path

import nbformat

NOTEBOOK = Path(__file__).resolve().parents[1] / "S11_SuperConvergence.ipynb"


def test_notebook_has_no_definitions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]
    assert not [line for line in lines if line.lstrip().startswith(("def ", "class ")) or "lambda" in line]
