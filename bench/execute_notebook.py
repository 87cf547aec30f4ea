"""Execute S11_SuperConvergence.ipynb top to bottom and save it with its outputs.

    S11_DATA=.carry/cifar10-jpeg.tar.gz S11_FIGURES=OUT/images python bench/execute_notebook.py OUT/S11_SuperConvergence.ipynb

The environment variables reach the notebook's kernel (see its "Parameters" cell); the
notebook in the repository is read, never written.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]


def main(out: str) -> None:
    nb = nbformat.read(ROOT / "S11_SuperConvergence.ipynb", as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    nbformat.write(nb, out)
    code = [c for c in nb.cells if c.cell_type == "code"]
    with_output = sum(1 for c in code if c.outputs)
    print(f"executed in {time.perf_counter() - start:.0f}s; {with_output} of {len(code)} code cells have outputs; wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1])
