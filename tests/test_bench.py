"""The GPU scripts run rarely and on borrowed time: check here, on the CPU and on the tiny
fixture, that they run end to end and that they record what their docstrings promise."""

import csv
import json
import os
import signal
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import airbench_peer  # noqa: E402
import notebook_outputs  # noqa: E402
import profile_epoch  # noqa: E402
import record  # noqa: E402

from conftest import HANG, NarrowResNet9, narrow_env
from s11lib import provenance  # noqa: E402
from s11lib.config import CLASSES  # noqa: E402
from s11lib.datasets import load_cifar10  # noqa: E402
from s11lib.model import count_parameters  # noqa: E402


def test_the_gpu_plan_killed_halfway_leaves_every_finished_result(tmp_path, learnable):
    """A CPU dry run on tiny data with the narrow net, killed (as the device tool's limit would) when the
    notebook step starts: what finished before is in OUT, packed whole, and summary.json records it."""
    out, work = tmp_path / "out", tmp_path / "work"
    env = {**narrow_env(), "S11_DATA": str(learnable), "S11_SEEDS": "1", "PYTHON": sys.executable, "S11_WORK": str(work),
           "S11_ARGS": "--epochs 2 --peak-epoch 1 --batch-size 25 --workers 0 --device cpu --finder-iters 16",
           "S11_SWEEP_LRS": "0.1"}
    plan = subprocess.Popen(["bash", "bench/gpu_plan.sh", str(out)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen = []
    for line in plan.stdout:
        seen.append(line)
        if line.startswith("== notebook: start"):
            os.killpg(plan.pid, signal.SIGKILL)
            break
    plan.wait(timeout=HANG)
    log = "".join(seen)
    assert "== gpu: exit 0" in log and "== sweep: exit 0" in log and "== sweep-short: exit 0" in log, log[-3000:]
    assert "== peer-airbench94: skipped, airbench94 runs on CUDA only" in log
    assert sorted(p.name for p in out.iterdir()) == ["gpu.tgz", "log.txt", "summary.json", "sweep.tgz"]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"commit", "s11lib_sha256", "gpu", "date", "groups"}
    assert summary["s11lib_sha256"] == record.s11lib_sha256() and summary["gpu"] == "cpu"
    assert sorted(summary["groups"]) == ["gpu"]  # the sweep's runs are its own sweep.csv's rows
    assert summary["groups"]["gpu"]["lr_rule"] == ["diverge"] and summary["groups"]["gpu"]["group_wall_seconds"] >= 0
    with tarfile.open(out / "gpu.tgz") as t:
        names = t.getnames()
        metrics = json.load(t.extractfile("runs/gpu/seed-1/metrics.json"))
    assert "runs/gpu/seed-1/lr_finder.json" in names and not [n for n in names if n.endswith("checkpoint.pt")]
    assert metrics["params"] == count_parameters(NarrowResNet9())  # the plan's steps trained the narrow net
    with tarfile.open(out / "sweep.tgz") as t:
        rows = json.load(t.extractfile("runs/sweep/sweep.json"))
        assert not [n for n in t.getnames() if n.endswith("checkpoint.pt")]
    assert sorted(r["point"] for r in rows) == ["one-cycle-e2-found", "one-cycle-e2-lr0.1", "one-cycle-e2-lr0.4",
                                                "step-e2-lr0.1", "step-e2-lr0.4"]  # the short sweep grew the first


def test_the_gpu_plan_skips_what_no_longer_fits_before_its_deadline(tmp_path, learnable):
    env = {**os.environ, "S11_DATA": str(learnable), "S11_SEEDS": "1", "PYTHON": sys.executable,
           "S11_WORK": str(tmp_path / "work"), "S11_DEADLINE": "10"}
    done = subprocess.run(["bash", "bench/gpu_plan.sh", str(tmp_path / "out")], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=HANG)
    for name in ("decode", "gpu", "sweep", "sweep-short", "notebook", "fp16", "albumentations", "profile"):
        assert f"== {name}: skipped" in done.stdout, done.stdout[-2000:]
    assert "== plan: done" in done.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["log.txt"]  # nothing half-packed


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
                           "--device", "cpu", "--rows", "5"], cwd=ROOT, capture_output=True, text=True, timeout=HANG,
                          env=narrow_env({**os.environ, "PYTHONPATH": str(ROOT)}))
    assert done.returncode == 0, done.stderr[-2000:]
    assert "one epoch of 100 images, batch 50, cpu" in done.stdout and "Self CPU" in done.stdout


def test_the_profile_counts_device_events_only_and_overlaps_once():
    """A CPU operator carries the time of the kernels it launched: counting it too would count them twice."""
    from torch.autograd import DeviceType

    def event(device, start, end):
        return SimpleNamespace(device_type=device, time_range=SimpleNamespace(start=start, end=end))

    events = [event(DeviceType.CPU, 0, 1_000_000),  # aten::conv2d, 1 s of host time "holding" its kernels
              event(DeviceType.CUDA, 100_000, 300_000), event(DeviceType.CUDA, 200_000, 400_000),  # two overlapping kernels
              event(DeviceType.CUDA, 600_000, 700_000)]
    kernels = profile_epoch.device_intervals(events)
    assert kernels == [(100_000, 300_000), (200_000, 400_000), (600_000, 700_000)]
    assert profile_epoch.busy_seconds(kernels) == pytest.approx(0.4)  # 0.1-0.4 s and 0.6-0.7 s
    assert profile_epoch.busy_seconds([]) == 0.0


def test_the_peers_time_is_the_spans_airbench_times_itself():
    """Model building and loading happen outside airbench's CUDA-event spans, so outside its seconds."""
    class FakeEvent:
        def __init__(self, enable_timing=False):
            pass

        def elapsed_time(self, end):
            return 250.0  # milliseconds

    def train():  # as airbench.utils.train: one span for the whitening, one per epoch
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        return [start.elapsed_time(end) for _ in range(3)]

    result, seconds = airbench_peer.airbench_seconds(train, event_class=FakeEvent)
    assert result == [250.0] * 3 and seconds == pytest.approx(0.75)


def test_the_gpu_image_check_names_what_would_be_missing_there(tmp_path):
    import check_gpu_image

    for name in ("albumentations-2.0.8-py3-none-any.whl", "torch_lr_finder-0.2.2-py3-none-any.whl",
                 "grad_cam-1.5.7-py3-none-any.whl", "nbclient-0.11.0-py3-none-any.whl",
                 "ipykernel-7.4.0-py3-none-any.whl", "airbench-0.1.8-py3-none-any.whl"):
        (tmp_path / name).write_bytes(b"")
    assert not [line for line in check_gpu_image.check(tmp_path) if "UNMET" in line]
    (tmp_path / "grad_cam-1.5.7-py3-none-any.whl").unlink()
    (tmp_path / "albumentations-2.0.8-py3-none-any.whl").rename(tmp_path / "albumentations-1.4.0-py3-none-any.whl")
    (tmp_path / "ipykernel-7.4.0-py3-none-any.whl").rename(tmp_path / "ipykernel-7.4.0-cp311-cp311-win_amd64.whl")
    unmet = [line for line in check_gpu_image.check(tmp_path) if "UNMET" in line]
    assert unmet == ["albumentations<3,>=2.0.5: UNMET, carried 1.4.0",
                     f"grad-cam>=1.5.0: UNMET, neither in the image nor carried in {tmp_path}",
                     f"ipykernel>=6.14: UNMET, neither in the image nor carried in {tmp_path}"]


def paused_run(tmp_path, epoch_2_end="2026-12-03T00:40:00Z"):
    """A finished run of 3 epochs across midnight: epoch 2 stopped 20 minutes, epoch 3 half a minute, none between."""
    run, logs = tmp_path / "try-1", tmp_path / "logs"
    run.mkdir(), logs.mkdir()
    history = [{"epoch": 1, "seconds": 600.0}, {"epoch": 2, "seconds": 1800.0}, {"epoch": 3, "seconds": 100.0}]
    metrics = {"starts": [{"epoch": 0, "at": "2026-12-02T23:00:00+00:00"}, {"epoch": 1, "at": "2026-12-03T00:10:00+00:00"}],
               "test_accuracy": 63.0, "test_accuracy_tta": 64.0, "min_lr": 0.002, "max_lr": 0.3, "lr_rule": "diverge"}
    (run / "metrics.json").write_text(json.dumps(metrics))  # as train writes it: the history is in history.csv alone
    (run / "history.csv").write_text("epoch,lr,train_acc,test_acc,seconds\n" + "".join(
        f"{h['epoch']},0.1,50.0,{60.0 + h['epoch']},{h['seconds']}\n" for h in history))
    for name in ("lr_finder.json", "config.json"):
        (run / name).write_text(name)
    (logs / "starts.txt").write_text("start 1\n")
    (logs / "pauses.txt").write_text("paused 23:20:00\nresumed 23:25:00\npaused 00:15:00\nresumed 00:35:00\n"
                                     "paused 00:41:00\npaused 00:41:10\nresumed 00:41:30\n")
    (logs / "checkpoints.txt").write_text(f"epoch 2 checkpoint written {epoch_2_end} (by hand)\n")
    return run, logs


def test_a_paused_runs_epochs_are_counted_net_of_the_pauses_inside_them(tmp_path):
    run, logs = paused_run(tmp_path)
    record.record_cpu(run, logs, tmp_path / "results")
    rows = list(csv.DictReader(open(tmp_path / "results" / "epochs.csv")))
    assert [(r["began"], r["ended"], r["end_from"]) for r in rows] == [
        ("2026-12-02T23:00:00Z", "2026-12-02T23:10:00Z", "from its start"),
        ("2026-12-03T00:10:00Z", "2026-12-03T00:40:00Z", "logged"),
        ("2026-12-03T00:40:00Z", "2026-12-03T00:41:40Z", "from its start")]
    assert [(r["paused_seconds"], r["net_seconds"]) for r in rows] == [("0.0", "600.0"), ("1200.0", "600.0"), ("30.0", "70.0")]
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(
        ["epochs.csv", "metrics.json", "history.csv", "lr_finder.json", "config.json", "starts.txt", "pauses.txt", "checkpoints.txt"])


def test_an_epoch_end_that_disagrees_with_its_start_is_refused(tmp_path):
    run, logs = paused_run(tmp_path, epoch_2_end="2026-12-03T00:45:00Z")
    with pytest.raises(ValueError, match="epoch 2 would have begun at 00:15:00, its start says 00:10:00"):
        record.record_cpu(run, logs, tmp_path / "results")


def test_an_executed_notebooks_outputs_go_to_the_cells_with_its_ids_and_changed_code_is_named():
    import nbformat

    def notebook(sources):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# t", id="m1"),
                    *(nbformat.v4.new_code_cell(s, id=f"c{i}") for i, s in enumerate(sources))]
        return nb

    ran, now = notebook(["print(1)", "x = 2  # old", "x"]), notebook(["print(1)", "x = 2  # new", "x"])
    for i, cell in enumerate(c for c in ran.cells if c.cell_type == "code"):
        cell.outputs, cell.execution_count = [nbformat.v4.new_output("stream", text=f"out {i}\n")], i + 1
    assert notebook_outputs.transplant(ran, now) == ["c1"]
    assert [(c.execution_count, c.outputs[0].text) for c in now.cells[1:]] == [(1, "out 0\n"), (2, "out 1\n"), (3, "out 2\n")]
    assert [c.source for c in now.cells[1:]] == ["print(1)", "x = 2  # new", "x"]
    with pytest.raises(ValueError, match="differ in their cells"):
        notebook_outputs.transplant(ran, notebook(["print(1)", "x"]))


def test_the_peer_trains_on_the_cpu_by_its_own_code_and_records_each_seed_once(tmp_path, offline_copy):
    """--device cpu: airbench's train94 patched onto the CPU in fp32 (2,048 real images, one epoch, two batches);
    the record names the peer, its precision, the patches and our commit; a seed already recorded is not run again."""
    pytest.importorskip("airbench")
    args = [sys.executable, "bench/airbench_peer.py", "--data", str(offline_copy), "--subset", "2048", "--device", "cpu",
            "--epochs", "1", "--seeds", "1", "--first-seed", "3", "--out", str(tmp_path)]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=HANG,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    m = json.loads((tmp_path / "seed-3" / "metrics.json").read_text())
    assert (m["peer"], m["seed"], m["epochs"], m["precision"]) == ("airbench94 (airbench 0.1.8)", 3, 1, "float32")
    assert m["device_name"] == provenance.device_name(torch.device("cpu")) and m["airbench_version"] == "0.1.8" and m["patches"] == list(airbench_peer.CPU_PATCHES)
    assert 0 <= m["test_accuracy"] <= 100 and 0 <= m["test_accuracy_tta"] <= 100 and m["train_seconds"] > 0
    assert "commit" in m and sorted(p.name for p in tmp_path.iterdir()) == ["cifar10", "seed-3"]
    again = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=HANG,
                           env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert again.returncode == 0 and "airbench94 seed 3: done before" in again.stdout
    assert json.loads((tmp_path / "seed-3" / "metrics.json").read_text()) == m


def test_the_cpu_clock_times_the_span_between_record_calls(monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(airbench_peer.time, "perf_counter", lambda: next(clock))
    start, end = airbench_peer.ClockEvent(enable_timing=True), airbench_peer.ClockEvent(enable_timing=True)
    start.record()
    end.record()
    assert start.elapsed_time(end) == pytest.approx(250.0)
