"""Real data: a class-balanced slice of the offline CIFAR-10 copy, trained for 3 epochs on the CPU."""

import json

from s11lib.cli import main


def test_a_small_slice_trains_well_above_chance(offline_copy, tmp_path):
    # 1,000 images, LRs fixed near what the range test finds for such a slice, to keep the suite short
    assert main(["train", "--data", str(offline_copy), "--subset", "1000", "--epochs", "3", "--peak-epoch", "1",
                 "--batch-size", "64", "--min-lr", "0.006", "--max-lr", "0.17", "--workers", "2",
                 "--device", "cpu", "--no-progress", "--out", str(tmp_path)]) == 0
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["train_images"] == 1000 and metrics["test_images"] == 200
    # chance is 10%; this gave 41.00% on the Intel Xeon of 2026-11-29 (other processors differ by a few points)
    assert metrics["test_accuracy"] > 30.0
    assert sum(sum(row) for row in metrics["confusion_matrix"]) == 200
