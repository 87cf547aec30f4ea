"""Execute S11_SuperConvergence.ipynb top to bottom and save it with its outputs; or run its last cell again.

    S11_DATA=.carry/cifar10-jpeg.tar.gz S11_RUN=OUT/runs python bench/execute_notebook.py OUT/S11_SuperConvergence.ipynb
    python bench/execute_notebook.py --last-cell S11_SuperConvergence.ipynb

The environment variables reach the notebook's kernel (see its "Parameters" cell); the notebook in
the repository is read, never written. No cell has a time limit: on a CPU the training cell runs
for hours. Executed again with the same S11_RUN after an interruption, the notebook continues its
try (its training cell says from which epoch). Progress bars are widgets, which a saved notebook
shows as their first state ("0%"): they are dropped from the saved copy; each epoch's printed line
stays.

``--last-cell NOTEBOOK`` runs the notebook's first code cells (imports, parameters, config: seconds) and its
last one, the side-by-side figure drawn from the records, and puts that cell's new outputs into NOTEBOOK,
every other output kept: an executed notebook whose records have grown since (its own run recorded) shows
the figure as it is now, as if that cell had been run again, without hours of training.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
WIDGET = "application/vnd.jupyter.widget-view+json"


def run_last_cell(path: str) -> None:
    target = nbformat.read(path, as_version=4)
    code = [c for c in target.cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(code) if c.source.startswith("cfg = Config("))
    part = nbformat.v4.new_notebook(metadata=target.metadata)
    part.cells = [nbformat.from_dict(dict(c)) for c in (*code[: upto + 1], code[-1])]
    NotebookClient(part, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    code[-1].outputs = [o for o in part.cells[-1].outputs if WIDGET not in o.get("data", {})]
    nbformat.write(target, path)
    kinds = [o.output_type + (f" {', '.join(o.data)}" if "data" in o else "") for o in code[-1].outputs]
    print(f"ran {upto + 1} first cells and the last; its outputs now: {'; '.join(kinds) or 'none'}; wrote {path}")


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
    if sys.argv[1:2] == ["--last-cell"] and len(sys.argv) == 3:
        run_last_cell(sys.argv[2])
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit(__doc__.split("\n\n")[1])
