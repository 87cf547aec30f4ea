"""The notebook as its users drive it: thin (no function or class of its own), and trusted cell by
cell in one live kernel on the real data in smoke mode: reruns read and record true numbers, a typed
pair is a try of its own, a killed kernel's try continues. README's nbconvert line (conftest's
`notebook_smoke`, checked in tests/test_readme.py) made the run directory this test starts from."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import time
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

from conftest import HANG
from readme import kernel_here

NOTEBOOK = Path(__file__).resolve().parents[1] / "S11_SuperConvergence.ipynb"
TYPED = "LR_MIN, LR_MAX = 0.002, 0.04"


def test_notebook_has_no_definitions():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    lines = [line for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()]
    assert not [line for line in lines if line.lstrip().startswith(("def ", "class ")) or "lambda" in line]


class Kernel:
    """A live kernel of this interpreter that runs cells as a user does and keeps what each printed."""

    def __init__(self, cwd: Path, env: dict):
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env, startup_timeout=120)

    def run(self, source: str) -> str:
        """Run one cell to its end; returns its text (stdout, stderr, results), failing on an error."""
        text = self.said(source)
        assert "ERROR" not in text, text[-3000:]
        return text

    def said(self, source: str, msg_id: str | None = None) -> str:
        """Run one cell (or wait for ``msg_id``'s) to its end; its text, an error as an "ERROR name: value" line."""
        out = []

        def keep(msg):
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                out.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                out.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                out.append(f"ERROR {content['ename']}: {content['evalue']}\n")

        if msg_id is None:
            self.kc.execute_interactive(source, timeout=HANG, output_hook=keep)
        else:
            while True:
                msg = self.kc.get_iopub_msg(timeout=HANG)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    break
                keep(msg)
        return "".join(out)

    def run_all(self, cells: list[str]) -> list[str]:
        return [self.run(c) for c in cells]

    def kill(self) -> None:
        """What a Colab disconnect does to the kernel's process."""
        self.km.signal_kernel(signal.SIGKILL)
        self.close()

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def test_the_notebook_in_one_live_kernel_tells_the_truth_at_every_rerun(notebook_smoke, smoke, offline_copy,
                                                                        tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    shutil.copytree(notebook_smoke.run_dir, run_dir, ignore=shutil.ignore_patterns(".s11lib.lock"))
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_here(tmp_path / "jupyter")))
    mine = [tmp_path / "mine.png", tmp_path / "mine.jpg"]  # the user's own images, real files
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(mine[0])
    Image.fromarray(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8)).save(mine[1])
    env = {**os.environ, "S11_SMOKE": "1", "S11_DATA": str(offline_copy), "S11_RUN": str(run_dir),
           "S11_IMAGES": os.pathsep.join(map(str, mine)), "PYTHONPATH": str(NOTEBOOK.parent), "MPLBACKEND": "Agg"}
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    find = next(i for i, c in enumerate(cells) if "tries.range_test" in c)
    own = next(i for i, c in enumerate(cells) if "s11lib.predict(" in c)
    train = next(i for i, c in enumerate(cells) if "tries.train" in c)
    typed = find + 1
    assert cells[typed].startswith("# LR_MIN, LR_MAX = ")
    cli = json.loads((smoke / "metrics.json").read_text())

    first = Kernel(tmp_path, env)
    try:
        said = first.run_all(cells)  # run all, where an earlier run all (README's nbconvert) left its tries
        assert said[find].startswith(f"the saved range test of this config, {run_dir / 'range-test-1'}")
        assert re.findall(r"LRMIN [\d.]+, LRMAX [\d.]+", said[find]) == [f"LRMIN {cli['min_lr']:.4g}, LRMAX {cli['max_lr']:.4g}"]
        assert "try-1" in said[train] and "shown, not trained again" in said[train]
        top3 = r"( \w+ \d+\.\d%,){2} \w+ \d+\.\d%"
        lines = said[own].splitlines()
        assert re.fullmatch(r"mine\.png \(32x32\):" + top3, lines[0]) and lines[2].startswith("<Figure")
        assert re.fullmatch(r"mine\.jpg \(50x40, its centre 40x40 resized to 32x32\):" + top3, lines[1]), said[own]
        results = next(s for s in said if s.startswith("test_accuracy "))
        assert f"test_accuracy        {cli['test_accuracy']:.4g}\n" in results and "lr_rule              diverge" in results
        assert first.run(cells[find]).startswith("the saved range test")  # rerun after training: the first pair
        assert first.run("print(LR_MIN, LR_MAX)").split() == [repr(cli["min_lr"]), repr(cli["max_lr"])]
        first.run(TYPED + "\n" + cells[typed].split("\n", 1)[1])  # a typed pair, and on from there
        first.kc.execute(cells[train])  # training the typed pair, killed after its first epoch's checkpoint
        deadline = time.monotonic() + HANG
        while not (run_dir / "try-2" / "checkpoint.pt").exists():
            assert time.monotonic() < deadline, "no checkpoint of the typed pair's try"
            time.sleep(0.2)
    finally:
        first.kill()

    cells[typed] = TYPED + "\n" + cells[typed].split("\n", 1)[1]
    second = Kernel(tmp_path, env)
    try:
        said = second.run_all(cells)  # run all again, the typed line kept
        assert f"try-2 ({run_dir / 'try-2'}): continuing after epoch 1 of 2" in said[train]
        m = json.loads((run_dir / "try-2" / "metrics.json").read_text())
        assert (m["lr_rule"], m["lr_finder_note"], m["min_lr"], m["max_lr"]) == (None, None, 0.002, 0.04)
        assert [s["epoch"] for s in m["starts"]] == [0, 1] and not (run_dir / "try-2" / "lr_finder.json").exists()
        results = next(s for s in said if s.startswith("test_accuracy "))
        assert f"test_accuracy        {m['test_accuracy']:.4g}\n" in results and "lr_rule              None" in results
        assert "shown, not trained again" in second.run(cells[train])  # rerun unchanged: shown
        table = next(s for s in said if s.startswith("run "))
        assert [line.split()[0] for line in table.splitlines()[1:3]] == ["try-1", "try-2"] and "given" in table
    finally:
        second.close()
    assert sorted(p.name for p in run_dir.iterdir()) == ["range-test-1", "try-1", "try-2"]


def notebook_setup(tmp_path, env: dict) -> tuple[list[str], str]:
    """The notebook's first code cells (imports, parameters, config) in a live kernel with ``env``: the text of
    each, or an "ERROR" line where one failed."""
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    upto = next(i for i, c in enumerate(cells) if c.startswith("cfg = Config("))
    kernel = Kernel(tmp_path, {**os.environ, "PYTHONPATH": str(NOTEBOOK.parent), "MPLBACKEND": "Agg", **env})
    said = []
    try:
        for cell in cells[: upto + 1]:
            try:
                said.append(kernel.run(cell))
            except AssertionError as e:  # Kernel.run fails on an error: keep its line
                said.append(str(e).splitlines()[0])
                break
        return said, kernel.run("print(SMOKE, RUN_DIR, cfg.seed)") if len(said) > 1 and "ERROR" not in said[-1] else ""
    finally:
        kernel.close()


def test_the_notebooks_settings_are_read_as_typed(tmp_path, monkeypatch):
    """S11_SMOKE=true is smoke mode (as 1 and yes are), "maybe" one line; ~ in S11_RUN is the home folder;
    a typed epochs=3 that smoke mode changes is said, not silently reset; S11_SEED seeds the config."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_here(tmp_path / "jupyter")))
    home = tmp_path / "home"
    said, state = notebook_setup(tmp_path, {"S11_SMOKE": "true", "S11_RUN": "~/s11-runs", "HOME": str(home),
                                            "S11_SEED": "3"})
    assert state.split() == ["True", str(home / "s11-runs"), "3"]
    assert "smoke run: subset None -> 500, epochs 24 -> 2, peak_epoch None -> 1" in said[-1]
    said, state = notebook_setup(tmp_path, {"S11_SMOKE": "maybe"})
    assert said[-1] == "ERROR ConfigError: S11_SMOKE must be 1, true or yes (or 0, false, no), got 'maybe'" and not state


def test_the_notebooks_failing_cells_name_its_cells_and_variables_not_flags(offline_copy, tmp_path, monkeypatch):
    """A missing data path, a run directory that is a file (typed in the parameters cell, or set later) and a
    Ctrl-C during training each say what to do in the notebook: which variable to set, which cell to rerun."""
    monkeypatch.setenv("JUPYTER_PATH", str(kernel_here(tmp_path / "jupyter")))
    cells = [c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code"]
    prepare = next(i for i, c in enumerate(cells) if c.startswith("state = steps.prepare(cfg)"))
    typed, train = next(i for i, c in enumerate(cells) if c.startswith("# LR_MIN, LR_MAX = ")), \
        next(i for i, c in enumerate(cells) if "tries.train" in c)
    table = next(i for i, c in enumerate(cells) if "tries.table" in c)
    a_file = tmp_path / "runs.txt"
    a_file.write_text("not a folder")

    said, _ = notebook_setup(tmp_path, {"S11_RUN": str(a_file)})
    assert said[-1] == (f"ERROR ConfigError: S11_RUN names a file, {a_file}; set it to a folder (made if missing) "
                        "and rerun this cell")

    run_dir = tmp_path / "run"
    kernel = Kernel(tmp_path, {**os.environ, "PYTHONPATH": str(NOTEBOOK.parent), "MPLBACKEND": "Agg",
                               "S11_SMOKE": "1", "S11_DATA": str(tmp_path / "no-such-copy"), "S11_RUN": str(run_dir)})
    try:
        kernel.run_all(cells[:prepare])
        missing = kernel.said(cells[prepare])
        assert missing == (f"ERROR DataError: data path {tmp_path / 'no-such-copy'} does not exist; set S11_DATA to a "
                           "folder/archive (unset: torchvision's download) and rerun from the parameters cell\n")
        kernel.run(f"DATA = {str(offline_copy)!r}")
        kernel.run_all([cells[prepare - 1], cells[prepare]])  # the config cell reads DATA
        kernel.run(TYPED + "\n" + cells[typed].split("\n", 1)[1])
        msg_id = kernel.kc.execute(cells[train])
        deadline = time.monotonic() + HANG
        while not (run_dir / "try-1" / "checkpoint.pt").exists():
            assert time.monotonic() < deadline, "no checkpoint of the try"
            time.sleep(0.1)
        kernel.km.interrupt_kernel()
        stopped = kernel.said("", msg_id=msg_id).splitlines()[-1]
        kept = re.escape(str(run_dir / "try-1" / "checkpoint.pt"))  # a loaded machine may be past epoch 2 by then
        assert re.fullmatch(rf"ERROR Interrupted: interrupted while training; {kept} holds epoch 1 of 2; rerun the "
                            r"training cell to continue it|ERROR Interrupted: interrupted while [\w ]+; training had "
                            rf"finished: {kept} holds all 2 epochs; rerun the training cell to score it and draw its "
                            r"figures", stopped), stopped
        assert kernel.run(cells[table]).splitlines()[1].endswith("unfinished: rerun its training cell to continue it")
        kernel.run(f"RUN_DIR = Path({str(a_file)!r})")
        for cell in (cells[train], cells[table]):
            assert kernel.said(cell) == (f"ERROR ConfigError: run directory {a_file} is a file; set S11_RUN to a "
                                         "writable folder and rerun from the parameters cell\n")
    finally:
        kernel.close()


def test_the_last_cell_run_again_shows_the_side_by_side_figure_as_the_records_draw_it_now(tmp_path):
    """`execute_notebook.py --last-cell`: an executed notebook whose last cell showed an older figure (or none)
    gets that cell's outputs from a fresh run of it, the figure's bytes as images/ holds them; every other
    output stays as it ran."""
    import base64
    import subprocess
    import sys

    copy = tmp_path / "executed.ipynb"
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code):  # a stale last output, and a mark on every other cell to find unchanged
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"ran {i}\n")]
    nbformat.write(nb, copy)
    env = {**os.environ, "PYTHONPATH": str(NOTEBOOK.parent), "MPLBACKEND": "Agg",
           "JUPYTER_PATH": str(kernel_here(tmp_path / "jupyter"))}
    done = subprocess.run([sys.executable, str(NOTEBOOK.parent / "bench" / "execute_notebook.py"), "--last-cell", str(copy)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    after = [c for c in nbformat.read(copy, as_version=4).cells if c.cell_type == "code"]
    assert [c.outputs[0].text for c in after[:-1]] == [f"ran {i}\n" for i in range(len(code) - 1)]
    images = [base64.b64decode(o.data["image/png"]) for o in after[-1].outputs if "image/png" in o.get("data", {})]
    assert images == [(NOTEBOOK.parent / "images" / "side_by_side.png").read_bytes()]
    assert "its outputs now: display_data image/png, text/plain" in done.stdout
