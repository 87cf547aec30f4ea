"""The GPU benchmark script is run rarely and on borrowed time: check here, on the CPU and on
the tiny fixture, that it runs both data paths and the fixed-LR group end to end."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_gpu_full_script_runs_every_group_and_summarizes(tmp_path, sources):
    env = {**os.environ, "S11_DATA": str(sources["tar.gz"]), "S11_FIXED": "1", "PYTHON": sys.executable,
           "S11_ARGS": "--epochs 2 --peak-epoch 1 --batch-size 25 --workers 0 --device cpu --finder-iters 8"}
    done = subprocess.run(["bash", "bench/gpu_full.sh", str(tmp_path), "1"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    for group in ("gpu", "albumentations", "gpu-fixed"):
        assert f"== {group}: exit 0" in done.stdout
        assert json.loads((tmp_path / group / "repeats.json").read_text())["seeds"] == [1]
        assert f"| {group}/seed-1 | " in done.stdout
        assert f"\n{group}: n=1 test accuracy median " in done.stdout
    fixed = json.loads((tmp_path / "gpu-fixed" / "seed-1" / "metrics.json").read_text())
    assert (fixed["min_lr"], fixed["max_lr"], fixed["augment"], fixed["epochs"]) == (0.004, 0.4, "gpu", 2)
