"""Put an executed notebook's outputs into the repository's notebook, cell by cell id, and say which code differs.

    python bench/notebook_outputs.py EXECUTED.ipynb [S11_SuperConvergence.ipynb]

A long run (bench/execute_notebook.py, hours on a CPU) executes the notebook of the commit it was pinned
at; the repository's notebook may have moved on since in words (a comment, a cell's text) or names. This
copies each code cell's outputs and execution count from the executed copy into the cell with the same
id, refuses when the two notebooks do not have the same cells in the same order, and prints every code
cell whose source differs, with both versions, so the commit that lands the outputs can say what they
came from. Nothing is re-run; the repository's sources are kept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def transplant(executed: nbformat.NotebookNode, target: nbformat.NotebookNode) -> list[str]:
    """Copy outputs from ``executed`` into ``target`` (in place); return the ids of code cells whose sources differ."""
    ids = [(c.cell_type, c.get("id")) for c in executed.cells]
    if ids != [(c.cell_type, c.get("id")) for c in target.cells]:
        raise ValueError("the notebooks differ in their cells (ids, kinds or order): outputs cannot be matched")
    differ = []
    for ran, cell in zip(executed.cells, target.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = ran.outputs, ran.execution_count
        if ran.source != cell.source:
            differ.append(cell.id)
    return differ


def main(executed_path: str, target_path: str = str(ROOT / "S11_SuperConvergence.ipynb")) -> None:
    executed = nbformat.read(executed_path, as_version=4)
    target = nbformat.read(target_path, as_version=4)
    differ = transplant(executed, target)
    nbformat.write(target, target_path)
    code = [c for c in target.cells if c.cell_type == "code"]
    print(f"{sum(1 for c in code if c.outputs)} of {len(code)} code cells have outputs; wrote {target_path}")
    by_id = {c.id: c for c in executed.cells}
    for cell in (c for c in code if c.id in differ):
        print(f"\ncell {cell.id}: its source differs from the one that ran\n--- ran\n{by_id[cell.id].source}\n--- now\n{cell.source}")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit(__doc__.split("\n\n")[1])
    main(*sys.argv[1:])
