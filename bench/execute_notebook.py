"""Execute S11_SuperConvergence.ipynb top to bottom and save it with its outputs.

    S11_DATA=.carry/cifar10-jpeg.tar.gz S11_RUN=OUT/runs python bench/execute_notebook.py OUT/S11_SuperConvergence.ipynb

The environment variables reach the notebook's kernel (see its "Parameters" cell); the notebook in
the repository is read, never written. No cell has a time limit: on a CPU the training cell runs
for hours. Executed again with the same S11_RUN after an interruption, the notebook continues its
try (its training cell says from which epoch). Progress bars are widgets, which a saved notebook
shows as their first state ("0%"): they are dropped from the saved copy; each epoch's printed line
stays.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"


def main(out: str) -> None:
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=None, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]
    for cell in code:
        cell.outputs = [o for o in cell.outputs if WIDGET not in o.get("data", {})]
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, out)
    with_output = sum(1 for c in code if c.outputs)
    print(f"executed in {time.perf_counter() - start:.0f}s; {with_output} of {len(code)} code cells have outputs; wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
