import shutil
import tarfile

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from s11lib.augment import MEAN, MEAN_PIXEL, STD, augmented_samples, eval_transform, to_uint8, train_transform
from s11lib.config import Config
from s11lib.datasets import Cifar10, DataError, Split, balanced_subset, load_cifar10
from s11lib.loaders import AugmentedDataset, make_loaders, seed_worker

FILL = (np.array(MEAN_PIXEL) / 255 - np.array(MEAN)) / np.array(STD)  # a cutout pixel after Normalize
BLACK = (0 - np.array(MEAN)) / np.array(STD)


def hole_mask(x: np.ndarray) -> np.ndarray:
    """(3, H, W) normalized image of a black input -> where the cutout fill is."""
    return np.isclose(x, FILL[:, None, None], atol=1e-4).all(0)


def test_train_transform_keeps_the_shape_and_blanks_exactly_one_8x8_patch():
    transform = train_transform(cutout=8, seed=0)
    black = np.zeros((32, 32, 3), np.uint8)  # padding, crop and flip keep it black: only the hole differs
    for _ in range(50):
        x = transform(image=black)["image"].numpy()
        assert x.shape == (3, 32, 32) and x.dtype == np.float32
        hole = hole_mask(x)
        rows, cols = np.nonzero(hole)
        assert hole.sum() == 64
        assert rows.max() - rows.min() == 7 and cols.max() - cols.min() == 7
        assert np.isclose(x[:, ~hole], BLACK[:, None], atol=1e-4).all()


def test_train_transform_pads_by_reflection_and_crops_back_to_32():
    transform = train_transform(cutout=8, seed=3)
    img = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    x = torch.stack([transform(image=img)["image"] for _ in range(20)])
    assert x.shape == (20, 3, 32, 32)
    # reflection never invents values: every output pixel (outside the hole) comes from the image
    pixels = {tuple(p) for p in img.reshape(-1, 3)} | {MEAN_PIXEL}
    assert {tuple(p) for p in to_uint8(x).reshape(-1, 3)} <= pixels


def test_test_transform_only_normalizes():
    img = np.full((32, 32, 3), 255, np.uint8)
    x = eval_transform()(image=img)["image"]
    np.testing.assert_allclose(x[:, 0, 0].numpy(), (1 - np.array(MEAN)) / np.array(STD), rtol=1e-5)


@pytest.mark.parametrize("kind", ["folder", "tar.gz", "zip", "pickled"])
def test_every_source_gives_the_same_images_and_labels(sources, tiny, kind):
    data = load_cifar10(str(sources[kind]))
    for got, want in ((data.train, tiny[0]), (data.test, tiny[1])):
        if kind != "pickled":  # ImageFolder lists class by class, in CIFAR-10 label order
            order = np.argsort(want.labels, kind="stable")
            want = Split(want.images[order], want.labels[order])
        np.testing.assert_array_equal(got.labels, want.labels)
        np.testing.assert_array_equal(got.images, want.images)


@pytest.mark.parametrize("arcname, mode", [(".", "w"), ("deep/er", "w:bz2"), ("./deep/er", "w:gz")])
def test_the_layout_is_found_at_any_depth_and_under_dot_slash_names(sources, tmp_path, arcname, mode):
    """Archives made with `tar -C DIR .` store every name under ./; others nest the layout deeper. A .tar may
    be compressed (tarfile reads what it knows)."""
    with tarfile.open(tmp_path / "a.tar", mode) as t:
        t.add(sources["folder"], arcname=arcname)
    got, want = load_cifar10(str(tmp_path / "a.tar")), load_cifar10(str(sources["folder"]))
    for a, b in ((got.train, want.train), (got.test, want.test)):
        np.testing.assert_array_equal(a.labels, b.labels)
        np.testing.assert_array_equal(a.images, b.images)


@pytest.mark.parametrize("change, message", [
    ("two roots", "not in ImageFolder layout: expected one folder holding train/<class>/ and test/<class>/ (found a, b/c)"),
    ("no truck", "test/ must hold exactly the 10 CIFAR-10 class folders; missing: truck; unexpected: none"),
    ("a lorry", "train/ must hold exactly the 10 CIFAR-10 class folders; missing: none; unexpected: lorry"),
    ("no test", "has no test/ folder of class folders"),
    ("nested, no test", "has no a/test/ folder of class folders"),
])
def test_a_layout_that_is_not_imagefolder_names_what_is_wrong(sources, tmp_path, change, message):
    data = tmp_path / "data"
    root = data / "a" if change in ("two roots", "nested, no test") else data
    shutil.copytree(sources["folder"], root)
    if change == "two roots":
        shutil.copytree(sources["folder"] / "test", data / "b" / "c" / "test")
    elif change == "no truck":
        shutil.rmtree(root / "test" / "truck")
    elif change == "a lorry":
        shutil.copytree(root / "train" / "truck", root / "train" / "lorry")
    else:
        shutil.rmtree(root / "test")
    with tarfile.open(tmp_path / "a.tar", "w") as t:  # as `tar -C data .` stores it: every name under ./
        t.add(data, arcname=".")
    for source in (data, tmp_path / "a.tar"):
        with pytest.raises(DataError) as e:
            load_cifar10(str(source))
        assert message in str(e.value)


def test_subset_is_class_balanced_and_cuts_the_test_set_in_proportion(sources):
    for kind in ("folder", "pickled"):
        data = load_cifar10(str(sources[kind]), subset=50)
        assert np.bincount(data.train.labels).tolist() == [5] * 10
        assert len(data.test) == 20  # 50/100 of 40
        assert np.bincount(data.test.labels).tolist() == [2] * 10
    a, b = load_cifar10(str(sources["folder"]), subset=50), load_cifar10(str(sources["pickled"]), subset=50)
    assert np.array_equal(np.sort(a.train.labels), np.sort(b.train.labels))


def test_balanced_subset_spreads_the_remainder_over_the_first_classes(tiny):
    assert np.bincount(balanced_subset(tiny[0], 23).labels).tolist() == [3, 3, 3, 2, 2, 2, 2, 2, 2, 2]


def test_missing_path_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        load_cifar10(str(tmp_path / "nope"))


def same_image_dataset(n: int) -> AugmentedDataset:
    img = np.random.default_rng(0).integers(0, 256, (1, 32, 32, 3), dtype=np.uint8)
    return AugmentedDataset(Split(np.repeat(img, n, 0), np.zeros(n, np.int64)), train_transform(8))


def test_workers_are_seeded_apart_and_epochs_differ():
    loader = DataLoader(same_image_dataset(8), batch_size=4, num_workers=2, worker_init_fn=seed_worker,
                        generator=torch.Generator().manual_seed(0))
    epoch1 = [x for x, _ in loader]
    epoch2 = [x for x, _ in loader]
    assert not torch.equal(epoch1[0], epoch1[1])  # the two workers' batches
    assert not torch.equal(epoch1[0], epoch2[0])  # the same worker, next epoch


def test_same_seed_same_augmentations_in_the_main_process(tiny):
    data, cfg = Cifar10(*tiny, source="tiny"), Config(batch_size=20, workers=0, seed=5)
    first = [next(iter(make_loaders(data, cfg, torch.device("cpu"))[0]))[0] for _ in range(2)]
    torch.testing.assert_close(first[0], first[1])


def test_augmented_samples_show_every_class(tiny):
    images, labels = augmented_samples(tiny[0], n=25, seed=0)
    assert images.shape == (25, 32, 32, 3) and images.dtype == np.uint8
    assert sorted(set(labels.tolist())) == list(range(10))


class RunsCode:
    """A pickle that runs a command when loaded, as a tampered data_batch_1 could."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


def test_a_cifar_batch_that_would_run_code_is_refused_in_one_line(sources, tmp_path, capsys):
    import pickle

    from s11lib.cli import main

    folder = shutil.copytree(sources["pickled"], tmp_path / "cifar-10-batches-py")
    marker = tmp_path / "ran"
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({b"data": RunsCode(marker), b"labels": [0]}, f)
    with pytest.raises(DataError, match=r"batch data_batch_1 is not a CIFAR-10 batch: it names posix.system"):
        load_cifar10(str(folder))
    assert main(["train", "--data", str(folder), "--out", str(tmp_path / "o"), "--min-lr", "0.01", "--max-lr", "0.1",
                 "--epochs", "2", "--device", "cpu", "--workers", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "could run code; refused" in err and "Traceback" not in err
    assert not marker.exists() and not (tmp_path / "o").exists()
