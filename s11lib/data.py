"""CIFAR-10 from any of three sources, as uint8 arrays, plus the augmentations and loaders.

Sources, all giving CIFAR-10's label order (``config.CLASSES``):

1. ``"torchvision"``: ``torchvision.datasets.CIFAR10`` downloaded into ``data_dir``.
2. A folder, or a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive of one, in ImageFolder layout
   with ``train/<class>/`` and ``test/<class>/`` (read straight from the archive).
3. A ``cifar-10-batches-py`` folder of the original pickled batches (or an archive of it,
   such as the official ``cifar-10-python.tar.gz``).

Every source is read into memory once (CIFAR-10 is 180 MB as uint8), so the rest of the
pipeline never cares where the images came from.
"""

from __future__ import annotations

import io
import os
import pickle
import random
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .config import CLASSES, Config

os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # albumentations phones home on import otherwise
import albumentations as A  # noqa: E402
import cv2  # noqa: E402
from albumentations.pytorch import ToTensorV2  # noqa: E402

# Per-channel mean and std of the 50,000 original CIFAR-10 training images (RGB, pixels / 255),
# over all pixels of all images: `x = train.images / 255; x.mean((0, 1, 2)), x.std((0, 1, 2))`.
# The often-copied std (0.2023, 0.1994, 0.2010) is the mean of per-image stds, not this.
# The offline JPEG copy gives mean 0.4913, 0.4821, 0.4465 and std 0.2452, 0.2428, 0.2606 (JPEG
# smooths the pixels a little); we keep the original's constants for every source.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)
MEAN_PIXEL = tuple(round(m * 255) for m in MEAN)  # cutout fill in uint8: (125, 123, 114)

PAD = 4  # pixels of reflection added on each side before the random 32x32 crop
ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
PICKLED_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
PICKLED_TEST = "test_batch"


class DataError(ValueError):
    """Data that cannot be read as CIFAR-10; the message says what is wrong and what to do."""


@dataclass(frozen=True)
class Split:
    images: np.ndarray  # (N, 32, 32, 3) uint8, RGB
    labels: np.ndarray  # (N,) int64, CIFAR-10 label order

    def __len__(self) -> int:
        return len(self.labels)


@dataclass(frozen=True)
class Cifar10:
    train: Split
    test: Split
    source: str  # which source it came from, for metrics.json and the README


# ---------------------------------------------------------------------------------------
# Reading


def load_cifar10(data: str = "torchvision", *, data_dir: str = "./data", subset: int | None = None) -> Cifar10:
    """Read CIFAR-10 from ``data`` (see the module docstring) into uint8 arrays.

    Args:
        data: ``"torchvision"`` or a path to a folder or archive.
        data_dir: where the torchvision download is stored.
        subset: class-balanced number of training images to keep; the test set is cut in the
            same proportion. ``None`` keeps everything.
    """
    if data == "torchvision":
        train, test = _read_torchvision(data_dir)
        source = f"torchvision CIFAR-10 ({data_dir})"
    else:
        check_source(data)
        path = Path(data).expanduser()
        files = _list_files(path)
        if any(PurePosixPath(name).name == PICKLED_TEST for name in files):
            train, test = _read_pickled(files, path)
            source = f"cifar-10-batches-py ({data})"
        else:
            train, test = _read_image_folder(files, path, subset)
            source = f"ImageFolder ({data})"
    if subset is not None:  # the ImageFolder reader already cut (and decoded only) the subset
        n_test = test_subset_size(subset, len(train), len(test))
        train, test = balanced_subset(train, subset), balanced_subset(test, n_test)
    return Cifar10(train, test, source)


def test_subset_size(subset: int, n_train: int, n_test: int) -> int:
    """Test images kept for a training subset: the same share of the test set (at least one per class)."""
    return min(n_test, max(len(CLASSES), round(subset * n_test / n_train)))


def check_source(data: str) -> None:
    """Cheap checks of ``data`` that need no reading, so a typo fails before any long work."""
    if data == "torchvision":
        return
    path = Path(data).expanduser()
    if not path.exists():
        raise DataError(f"data path {data} does not exist; pass --data torchvision to download CIFAR-10, or a folder/archive")
    if path.is_file() and not path.name.lower().endswith(ARCHIVE_SUFFIXES):
        raise DataError(
            f"{data} is a file but not an archive ({', '.join(ARCHIVE_SUFFIXES)}); "
            "pass a folder or archive in ImageFolder layout, or a cifar-10-batches-py folder"
        )
    if path.is_dir() and not any(path.iterdir()):
        raise DataError(f"data folder {data} is empty; it needs train/<class>/ and test/<class>/, or the cifar-10-batches-py files")


def balanced_subset(split: Split, n: int) -> Split:
    """The first ``n // 10`` images of each class, in order (the first ``n % 10`` classes get one more)."""
    keep = balanced_indices(split.labels, n)
    return Split(split.images[keep], split.labels[keep])


def balanced_indices(labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted indices of the images ``balanced_subset`` keeps."""
    if n > len(labels):
        raise DataError(f"subset of {n} images asked for, but the split has only {len(labels)}")
    keep = []
    for c in range(len(CLASSES)):
        want = n // len(CLASSES) + (1 if c < n % len(CLASSES) else 0)
        idx = np.flatnonzero(labels == c)
        if len(idx) < want:
            raise DataError(f"subset needs {want} images of class {CLASSES[c]}, found {len(idx)}")
        keep.append(idx[:want])
    return np.sort(np.concatenate(keep))


def _read_torchvision(data_dir: str) -> tuple[Split, Split]:
    import torchvision

    try:
        splits = [torchvision.datasets.CIFAR10(root=data_dir, train=t, download=True) for t in (True, False)]
    except (OSError, RuntimeError) as e:  # URLError is an OSError
        raise DataError(
            f"could not download CIFAR-10 into {data_dir} ({e.__class__.__name__}: {e}); "
            "without internet, pass --data PATH to a local copy (ImageFolder folder or archive, or cifar-10-batches-py)"
        ) from None
    return tuple(Split(np.asarray(s.data, dtype=np.uint8), np.asarray(s.targets, dtype=np.int64)) for s in splits)


def _list_files(path: Path) -> dict[str, bytes | Path]:
    """Every regular file under ``path`` (a folder or an archive): posix name -> bytes or Path.

    Archives are read in one sequential pass (random access into a .tar.gz is slow); the
    contents of CIFAR-10 are small enough (~100 MB of JPEG) to hold in memory.
    """
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p for p in sorted(path.rglob("*")) if p.is_file()}
    try:  # check_source has let through only folders and archives
        if path.name.lower().endswith(".zip"):
            with zipfile.ZipFile(path) as z:
                return {i.filename: z.read(i) for i in z.infolist() if not i.is_dir()}
        with tarfile.open(path, "r:*") as t:
            return {m.name: t.extractfile(m).read() for m in t if m.isfile()}
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
        raise DataError(f"cannot read archive {path} ({e}); is it truncated or corrupt? Download or copy it again") from None


def _read_bytes(entry: bytes | Path) -> bytes:
    return entry.read_bytes() if isinstance(entry, Path) else entry


def _read_pickled(files: dict[str, bytes | Path], path: Path) -> tuple[Split, Split]:
    by_name = {PurePosixPath(name).name: entry for name, entry in files.items()}

    def batch(name: str) -> Split:
        if name not in by_name:
            raise DataError(f"{path} has no {name}: the cifar-10-batches-py folder is incomplete; download it again")
        try:
            d = pickle.loads(_read_bytes(by_name[name]), encoding="bytes")
            images = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            labels = np.asarray(d[b"labels"], dtype=np.int64)
        except Exception as e:  # a damaged pickle can raise almost anything
            raise DataError(f"{path}: batch {name} is damaged ({e.__class__.__name__}); download it again") from None
        if len(images) != len(labels):
            raise DataError(f"{path}: batch {name} has {len(images)} images but {len(labels)} labels; download it again")
        return Split(np.ascontiguousarray(images), labels)

    train = [batch(n) for n in PICKLED_TRAIN]
    train = Split(np.concatenate([s.images for s in train]), np.concatenate([s.labels for s in train]))
    return train, batch(PICKLED_TEST)


def _read_image_folder(files: dict[str, bytes | Path], path: Path, subset: int | None) -> tuple[Split, Split]:
    """Decode ``train/<class>/*`` and ``test/<class>/*`` (found at any depth) into arrays."""
    roots = {str(PurePosixPath(n).parents[2]) for n in files if len(PurePosixPath(n).parts) >= 3 and PurePosixPath(n).parts[-3] in ("train", "test")}
    if len(roots) != 1:
        found = "none" if not roots else ", ".join(sorted(roots))
        raise DataError(
            f"{path} is not in ImageFolder layout: expected one folder holding train/<class>/ and test/<class>/ "
            f"(found {found}); see README 'Offline CIFAR-10'"
        )
    (root,) = roots
    prefix = "" if root == "." else root + "/"
    listed = {}
    for split in ("train", "test"):
        per_class: dict[str, list[str]] = {}
        for name in files:
            rel = PurePosixPath(name[len(prefix):]) if name.startswith(prefix) else None
            if rel is not None and len(rel.parts) == 3 and rel.parts[0] == split:
                per_class.setdefault(rel.parts[1], []).append(name)
        if not per_class:
            raise DataError(f"{path} has no {prefix}{split}/ folder of class folders; ImageFolder layout needs train/ and test/")
        if set(per_class) != set(CLASSES):
            missing, extra = sorted(set(CLASSES) - set(per_class)), sorted(set(per_class) - set(CLASSES))
            raise DataError(
                f"{path}: {split}/ must hold exactly the 10 CIFAR-10 class folders; "
                f"missing: {', '.join(missing) or 'none'}; unexpected: {', '.join(extra) or 'none'}"
            )
        names = [n for cls in CLASSES for n in sorted(per_class[cls])]
        labels = np.asarray([c for c, cls in enumerate(CLASSES) for _ in per_class[cls]], dtype=np.int64)
        listed[split] = names, labels
    if subset is not None:  # decode only the images the subset keeps
        sizes = {"train": subset, "test": test_subset_size(subset, len(listed["train"][1]), len(listed["test"][1]))}
        for split, (names, labels) in listed.items():
            keep = balanced_indices(labels, sizes[split])
            listed[split] = [names[i] for i in keep], labels[keep]
    train, test = (Split(np.stack([_decode(files[n], n) for n in names]), labels) for names, labels in listed.values())
    return train, test


def _decode(entry: bytes | Path, name: str) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    if not name.lower().endswith(IMAGE_SUFFIXES):
        raise DataError(f"{name} is not an image file ({', '.join(IMAGE_SUFFIXES)}); remove it from the data folder")
    try:
        with Image.open(io.BytesIO(_read_bytes(entry))) as im:
            if im.size != (32, 32) or im.mode != "RGB":
                raise DataError(
                    f"{name} is a {im.size[0]}x{im.size[1]} {im.mode} image; CIFAR-10 images are 32x32 RGB "
                    "(images are never resized or converted: fix or remove it)"
                )
            return np.asarray(im, dtype=np.uint8)
    except (UnidentifiedImageError, OSError) as e:
        raise DataError(f"{name} cannot be decoded as an image ({e}); remove or replace it") from None


# ---------------------------------------------------------------------------------------
# Augmentations (albumentations) and the DataLoader path


def train_transform(cutout: int = 8, seed: int | None = None) -> A.Compose:
    """Pad 4 (reflect) -> random 32x32 crop -> horizontal flip -> one cutout hole -> normalize.

    Padding reflects the border (as in Page's ResNet-9) instead of adding black bars the net
    could learn as a position cue. Cutout is applied to every image (p=1), as in DeVries &
    Taylor and Page: one ``cutout x cutout`` hole, fully inside the image, filled with the
    data set's mean so that it normalizes to ~0.
    """
    return A.Compose(
        [
            A.PadIfNeeded(min_height=32 + 2 * PAD, min_width=32 + 2 * PAD, border_mode=cv2.BORDER_REFLECT_101),
            A.RandomCrop(height=32, width=32),
            A.HorizontalFlip(p=0.5),
            A.CoarseDropout(
                num_holes_range=(1, 1),
                hole_height_range=(cutout, cutout),
                hole_width_range=(cutout, cutout),
                fill=MEAN_PIXEL,
                p=1.0,
            ),
            A.Normalize(mean=MEAN, std=STD, max_pixel_value=255.0),
            ToTensorV2(),
        ],
        seed=seed,
    )


def test_transform() -> A.Compose:
    return A.Compose([A.Normalize(mean=MEAN, std=STD, max_pixel_value=255.0), ToTensorV2()])


class AugmentedDataset(Dataset):
    """uint8 images run through an albumentations Compose; yields (float CHW tensor, label)."""

    def __init__(self, split: Split, transform: A.Compose):
        self.split, self.transform = split, transform

    def __len__(self) -> int:
        return len(self.split)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(image=self.split.images[i])["image"], int(self.split.labels[i])


def seed_worker(worker_id: int) -> None:
    """Give each DataLoader worker its own augmentation stream.

    Workers start as copies of the main process, random state included; without this every
    worker (and, as workers start anew each epoch, every epoch) would replay the same crops,
    flips and holes. ``info.seed`` differs per worker and per epoch, and comes from the
    loader's generator, so a saved generator state replays an epoch exactly.
    """
    info = torch.utils.data.get_worker_info()
    seed = info.seed % 2**32
    np.random.seed(seed)
    random.seed(seed)
    transform = getattr(info.dataset, "transform", None)
    if transform is not None:
        transform.set_random_seed(seed)


def default_workers(cfg: Config) -> int:
    return min(8, os.cpu_count() or 1) if cfg.workers is None else cfg.workers


def make_loaders(data: Cifar10, cfg: Config, device: torch.device):
    """(train, test) iterables of (x, y) batches for ``cfg.augment``.

    "albumentations": DataLoaders over ``AugmentedDataset``. "gpu": ``DeviceLoader``s that
    keep the uint8 images on ``device`` and augment whole batches with tensor ops.
    """
    if cfg.augment == "gpu":
        return (
            DeviceLoader(data.train, cfg.batch_size, device, train=True, cutout=cfg.cutout, seed=cfg.seed),
            DeviceLoader(data.test, cfg.batch_size, device, train=False),
        )
    workers = default_workers(cfg)
    # Workers are started anew each epoch (not persistent): their augmentation seeds then come
    # from the loader's generator, so one saved generator state replays an epoch exactly.
    common = dict(batch_size=cfg.batch_size, num_workers=workers, pin_memory=device.type == "cuda",
                  worker_init_fn=seed_worker)
    train = DataLoader(
        AugmentedDataset(data.train, train_transform(cfg.cutout, seed=cfg.seed)),
        shuffle=True,
        generator=torch.Generator().manual_seed(cfg.seed),
        **common,
    )
    test = DataLoader(AugmentedDataset(data.test, test_transform()), shuffle=False, **common)
    return train, test


# ---------------------------------------------------------------------------------------
# The GPU-resident path: same augmentations, whole batches at once, on any device


def gather_index(first: torch.Tensor, n_images: int, side: int, cutout: int, generator: torch.Generator) -> torch.Tensor:
    """Pixel indices that crop, flip and cut out a batch in one gather.

    The pixels of ``n_images`` padded ``side x side`` images are rows of a table (image-major,
    then row, then column), followed by one extra row holding the mean pixel: a hole simply
    points there. ``first`` is each batch image's index into the table's images.

    Returns:
        (B * 32 * 32,) int32 row indices (half the memory traffic of int64; the full padded
        training set has 80M pixels), for an output laid out (B, 32, 32).
    """
    b, dev, i32 = first.shape[0], first.device, torch.int32
    size = side - 2 * PAD
    offsets = torch.randint(0, 2 * PAD + 1, (2, b), device=dev, generator=generator, dtype=i32)
    flip = torch.rand(b, device=dev, generator=generator) < 0.5
    ar = torch.arange(size, device=dev, dtype=i32)
    window = ar[:, None] * side + torch.stack([ar, ar.flip(0)])[:, None, :]  # (2, 32, 32): plain, and flipped (columns backwards)
    corner = (first.to(i32) * side + offsets[0]) * side + offsets[1]  # first pixel of each crop
    idx = window[flip.long()] + corner[:, None, None]  # (B, 32, 32)
    if cutout:  # point the hole's 8x8 pixels at the mean-pixel row: 64 writes per image, no mask
        hole = torch.randint(0, size - cutout + 1, (2, b, 1, 1), device=dev, generator=generator, dtype=i32)
        a = torch.arange(cutout, device=dev, dtype=i32)
        inside = ((hole[0] + a[:, None]) * size + hole[1] + a[None, :]).view(b, -1).long()  # (B, 64) in 0..1023
        fill = torch.full(inside.shape, n_images * side * side, device=dev, dtype=i32)
        idx = idx.view(b, -1).scatter_(1, inside, fill)
    return idx.reshape(-1)


def pixel_table(padded: torch.Tensor) -> torch.Tensor:
    """(N, S, S, 3) uint8 -> (N*S*S + 1, 3): every pixel as a row, then the mean pixel (the cutout fill)."""
    fill = torch.tensor([MEAN_PIXEL], dtype=padded.dtype, device=padded.device)
    return torch.cat([padded.reshape(-1, 3), fill])


def augment_batch(padded: torch.Tensor, cutout: int, generator: torch.Generator) -> torch.Tensor:
    """Random 32x32 crop, horizontal flip (p=0.5) and one mean-filled hole for a uint8 batch.

    Args:
        padded: (B, 32 + 2*PAD, 32 + 2*PAD, 3) uint8, already reflect-padded.
        cutout: side of the hole; 0 leaves the images whole.
        generator: random stream on ``padded.device``.

    Returns:
        (B, 3, 32, 32) uint8 (channels-last memory), distributed as ``train_transform``'s output
        before normalization: crop offsets uniform in 0..2*PAD, holes uniform and fully inside.
    """
    b, side = padded.shape[0], padded.shape[1]
    return augment_from_table(pixel_table(padded), torch.arange(b, device=padded.device), b, side, cutout, generator)


def augment_from_table(table: torch.Tensor, first: torch.Tensor, n_images: int, side: int, cutout: int,
                       generator: torch.Generator) -> torch.Tensor:
    """Images ``first`` of a ``pixel_table``, cropped, flipped and cut out: (B, 3, 32, 32) uint8, channels-last."""
    size = side - 2 * PAD
    pixels = table.index_select(0, gather_index(first, n_images, side, cutout, generator))
    return pixels.view(len(first), size, size, 3).permute(0, 3, 1, 2)


def normalize(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B, 3, H, W) -> float32, as albumentations' Normalize(MEAN, STD) does.

    One multiply-add per element, x / (255*std) - mean/std, done on the channels-last
    buffer viewed as one row per image: broadcasting the per-channel constants along an axis
    of 3 is ~10x slower on the CPU than along a row of H*W*3. The result is channels-last.
    """
    b, c, h, w = images.shape
    nhwc = images.permute(0, 2, 3, 1).contiguous()  # no copy for channels-last batches
    std = torch.tensor(STD, device=images.device)
    scale = (1.0 / (255.0 * std)).repeat(h * w)
    shift = (-torch.tensor(MEAN, device=images.device) / std).repeat(h * w)
    return nhwc.view(b, -1).float().mul_(scale).add_(shift).view(b, h, w, c).permute(0, 3, 1, 2)


class DeviceLoader:
    """Batches of a whole split held on ``device`` as uint8, augmented there per batch.

    The same augmentations and distributions as the albumentations path, with no worker
    processes and no host-to-device copies after the first. Works on the CPU too.
    """

    def __init__(self, split: Split, batch_size: int, device: torch.device, *, train: bool, cutout: int = 8, seed: int = 0):
        self.batch_size, self.train, self.cutout = batch_size, train, cutout
        self.n, images = len(split), split.images
        if train:  # pad once; numpy's "reflect" is cv2's BORDER_REFLECT_101, as in train_transform
            images = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)), mode="reflect")
        self.side = images.shape[1]
        images = torch.from_numpy(images).to(device)
        self.images = pixel_table(images) if train else images
        self.labels = torch.from_numpy(split.labels).to(device)
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        dev = self.labels.device
        order = torch.randperm(self.n, device=dev, generator=self.generator) if self.train else torch.arange(self.n, device=dev)
        for start in range(0, self.n, self.batch_size):
            idx = order[start : start + self.batch_size]
            if self.train:
                x = augment_from_table(self.images, idx, self.n, self.side, self.cutout, self.generator)
            else:
                x = self.images[idx].permute(0, 3, 1, 2)
            yield normalize(x), self.labels[idx]



def loader_state(loader) -> dict:
    """The random streams that decide a training loader's next epoch (shuffle and augmentations)."""
    state = {"generator": loader.generator.get_state()}
    transform = getattr(getattr(loader, "dataset", None), "transform", None)
    if transform is not None:  # main-process augmentations (workers=0); workers reseed from the generator
        state["transform"] = [(t.random_generator.bit_generator.state, t.py_random.getstate())
                              for t in (transform, *transform.transforms)]
    return state


def set_loader_state(loader, state: dict) -> None:
    loader.generator.set_state(state["generator"])
    transform = getattr(getattr(loader, "dataset", None), "transform", None)
    if transform is not None:
        for t, (np_state, py_state) in zip((transform, *transform.transforms), state["transform"]):
            t.random_generator.bit_generator.state = np_state
            t.py_random.setstate(py_state)


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """Undo ``normalize``: float (B, 3, H, W) -> uint8 (B, H, W, 3), for looking at batches."""
    mean = torch.tensor(MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=x.device).view(1, 3, 1, 1)
    return ((x.float() * std + mean) * 255).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def augmented_samples(split: Split, n: int = 25, cutout: int = 8, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` training images from every class (``balanced_indices``) after ``train_transform``,
    as uint8, with their labels."""
    transform = train_transform(cutout, seed=seed)
    keep = balanced_indices(split.labels, min(n, len(split)))
    x = torch.stack([transform(image=img)["image"] for img in split.images[keep]])
    return to_uint8(x), split.labels[keep]
