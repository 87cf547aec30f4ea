"""The GPU scripts run rarely and on borrowed time: check here, on the CPU and on the tiny
fixture, that they run end to end and that what they record is what the issue asks for."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import airbench_peer  # noqa: E402
import record  # noqa: E402

from s11lib.config import CLASSES  # noqa: E402
from s11lib.datasets import load_cifar10  # noqa: E402


def test_the_gpu_evidence_runs_part_trains_every_group_and_writes_the_record(tmp_path, sources):
    (tmp_path / "carry").mkdir()
    env = {**os.environ, "S11_DATA": str(sources["tar.gz"]), "S11_SEEDS": "1", "PYTHON": sys.executable,
           "S11_ARGS": "--subset 20 --epochs 2 --peak-epoch 1 --batch-size 10 --workers 0 --device cpu --finder-iters 5"}
    done = subprocess.run(["bash", "bench/gpu_evidence.sh", "runs", str(tmp_path / "work"), str(tmp_path / "pack")],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for group in ("gpu", "albumentations", "gpu-fixed"):
        assert f"== {group}: exit 0" in done.stdout
        assert f"| {group}/seed-1 | " in done.stdout
    assert "== peer-airbench94: skipped, airbench94 runs on CUDA only" in done.stdout
    summary = json.loads((tmp_path / "work" / "results" / "summary.json").read_text())
    assert set(summary) == {"commit", "s11lib_sha256", "gpu", "date", "groups"}
    assert summary["s11lib_sha256"] == record.s11lib_sha256() and summary["gpu"] == "cpu"
    assert sorted(summary["groups"]) == ["albumentations", "gpu", "gpu-fixed"]
    fixed = summary["groups"]["gpu-fixed"]
    assert (fixed["min_lr"], fixed["max_lr"], fixed["seed"]) == ([0.004], [0.4], [1])
    assert len(fixed["test_accuracy"]) == len(fixed["train_seconds"]) == len(fixed["test_accuracy_tta"]) == 1
    assert fixed["group_wall_seconds"] >= 0
    assert (tmp_path / "work" / "results" / "gpu" / "seed-1" / "history.csv").exists()
    assert not list((tmp_path / "work").glob("**/checkpoint.pt"))
    assert sorted(p.name for p in (tmp_path / "pack").iterdir()) == ["runs.log", "runs.tgz"]


def test_record_reads_every_group_with_its_seeds_in_order(tmp_path):
    for group, seeds in (("gpu", (1, 2, 10)), ("peer-airbench94", (1, 2))):
        for s in seeds:
            (tmp_path / group / f"seed-{s}").mkdir(parents=True)
            (tmp_path / group / f"seed-{s}" / "metrics.json").write_text(json.dumps(
                {"seed": s, "test_accuracy": 90.0 + s, "test_accuracy_tta": 91.0 + s, "train_seconds": 10.0 + s,
                 "device": "NVIDIA H200"}))
    (tmp_path / "COMMIT").write_text("abc123\n")
    summary = record.record(tmp_path, tmp_path / "out", "== gpu: exit 0, whole command 95 s\n")
    assert summary["commit"] == "abc123" and summary["gpu"] == "NVIDIA H200"
    assert summary["groups"]["gpu"]["test_accuracy"] == [91.0, 92.0, 100.0]  # seed 10 after seed 2
    assert summary["groups"]["gpu"]["group_wall_seconds"] == 95.0
    assert summary["groups"]["peer-airbench94"]["train_seconds"] == [11.0, 12.0]
    assert "| gpu | 3 | **92.00**; 91.00 / 92.00 / 100.00 | 93.00 | 12.0; 11.0 / 12.0 / 20.0 |" in record.table(summary)


def test_the_s11lib_fingerprint_follows_the_code(tmp_path):
    (tmp_path / "s11lib").mkdir()
    (tmp_path / "s11lib" / "a.py").write_text("x = 1\n")
    first = record.s11lib_sha256(tmp_path)
    assert record.s11lib_sha256(tmp_path) == first
    (tmp_path / "s11lib" / "a.py").write_text("x = 2\n")
    assert record.s11lib_sha256(tmp_path) != first


def test_the_peer_reads_exactly_the_pixels_we_read(tmp_path, sources):
    """airbench's own CifarLoader (on the CPU) reads the exported files as our reader's arrays."""
    airbench = pytest.importorskip("airbench")
    data = load_cifar10(str(sources["tar.gz"]))
    airbench_peer.export(data, tmp_path)
    for train, split in ((True, data.train), (False, data.test)):
        loader = airbench.CifarLoader(str(tmp_path / "cifar10"), train=train, gpu="cpu")
        assert loader.classes == list(CLASSES)
        assert torch.equal(loader.labels, torch.from_numpy(split.labels))
        pixels = (loader.images.float() * 255).round().permute(0, 2, 3, 1).numpy().astype(np.uint8)
        np.testing.assert_array_equal(pixels, split.images)


def test_the_epoch_profile_runs_on_the_cpu(sources):
    done = subprocess.run([sys.executable, "bench/profile_epoch.py", "--data", str(sources["tar.gz"]), "--batch-size", "50",
                           "--device", "cpu", "--rows", "5"], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "one epoch of 100 images, batch 50, cpu" in done.stdout and "Self CPU" in done.stdout
