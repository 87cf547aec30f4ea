"""Drop from the committed notebook the stderr that 9574adc's DataLoader workers printed, nothing else.

    python bench/results/2026-12-04-cpu-bf16/drop_worker_noise.py S11_SuperConvergence.ipynb

At 9574adc each epoch's progress bar (tqdm.auto) called iter() on the training DataLoader and left
that iterator, never run, in a reference cycle in the kernel; every later epoch's forked workers
collected the copies they inherited and printed "Exception ignored in: ... AssertionError: can only
test a child process" (fixed in ff542b9). The run's numbers are unaffected. A stderr output is
dropped only when its text is made of nothing but those tracebacks' pieces (the two workers'
lines interleave, so the pieces are cut apart); anything else stays. The verbatim outputs are in
commit 16030aa.
"""

import re
import sys

import nbformat

PIECES = sorted([
    "Exception ignored in:", "<function _MultiProcessingDataLoaderIter.__del__ at 0x7eff78de2c00>",
    "Traceback (most recent call last):",
    'File "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/torch/utils/data/dataloader.py", line 1706, in __del__',
    'File "/root/.pyenv/versions/3.11.7/lib/python3.11/site-packages/torch/utils/data/dataloader.py", line 1675, in _shutdown_workers',
    'File "/root/.pyenv/versions/3.11.7/lib/python3.11/multiprocessing/process.py", line 160, in is_alive',
    "self._shutdown_workers()", "if w.is_alive():", "assert self._parent_pid == os.getpid(), 'can only test a child process'",
    "AssertionError", ":", "can only test a child process",
], key=len, reverse=True)


def noise(text: str) -> bool:
    for piece in PIECES:
        text = text.replace(piece, "")
    return not re.sub(r"[\s^]", "", text)


def main(path: str) -> None:
    nb = nbformat.read(path, as_version=4)
    dropped = kept = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for o in cell.outputs:
            if o.output_type == "stream" and o.name == "stderr" and noise(o.text):
                dropped += 1
            else:
                outputs.append(o)
        kept += len(outputs)
        cell.outputs = outputs
    nbformat.write(nb, path)
    print(f"dropped {dropped} stderr outputs of worker tracebacks; {kept} outputs kept; wrote {path}")


if __name__ == "__main__":
    main(sys.argv[1])
