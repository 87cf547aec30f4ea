"""CIFAR-10 from any of three sources, read into uint8 arrays.

Sources, all giving CIFAR-10's label order (``config.CLASSES``):

1. ``"torchvision"``: ``torchvision.datasets.CIFAR10`` downloaded into ``data_dir``.
2. A folder, or a ``.tar.gz``/``.tgz``/``.tar``/``.zip`` archive of one, in ImageFolder layout
   with ``train/<class>/`` and ``test/<class>/`` (read straight from the archive).
3. A ``cifar-10-batches-py`` folder of the original pickled batches (or an archive of it,
   such as the official ``cifar-10-python.tar.gz``).

Every source is read into memory once (CIFAR-10 is 180 MB as uint8), so the rest of the
pipeline (``augment.py``, ``loaders.py``) never cares where the images came from.
"""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import voice
from .config import CLASSES, ConfigError, InputError

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz", ".tar", ".zip")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
PICKLED_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
PICKLED_TEST = "test_batch"


class DataError(InputError):
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
        if any(_parts(name)[-1:] == (PICKLED_TEST,) for name in files):
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
        raise DataError(f"data path {data} does not exist; {voice.say('no data')}")
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

    from .outputs import make_dirs, remove_empty

    try:  # the folders made are removed again if the download fails
        created = make_dirs(Path(data_dir), voice.setting("data_dir"), voice.say("data dir"))
    except ConfigError as e:
        raise DataError(str(e)) from None
    try:
        splits = [torchvision.datasets.CIFAR10(root=data_dir, train=t, download=True) for t in (True, False)]
    except (OSError, RuntimeError) as e:  # URLError is an OSError
        remove_empty(created)  # innermost first; a folder the download left files in stays
        raise DataError(
            f"could not download CIFAR-10 into {data_dir} ({e.__class__.__name__}: {e}); "
            f"{voice.say('offline')} (ImageFolder folder or archive, or cifar-10-batches-py)"
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
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":  # .tar.gz: inflated in one call, then read as a plain tar (a second faster on CIFAR-10)
            raw = gzip.decompress(raw)
        try:
            plain = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
        except tarfile.ReadError:  # .tar.bz2, .tar.xz: tarfile's stream
            with tarfile.open(path, "r:*") as t:
                return {m.name: t.extractfile(m).read() for m in t if m.isfile()}
        with plain as t:  # a member's bytes are a slice of the archive's
            return {m.name: t.extractfile(m).read() if m.issparse() else raw[m.offset_data:m.offset_data + m.size]
                    for m in t if m.isfile()}
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, OSError, zlib.error) as e:
        why = " ".join(str(e).split()) or e.__class__.__name__  # tarfile lists every method it tried on lines of their own
        raise DataError(f"cannot read archive {path} ({why}); is it truncated or corrupt? Download or copy it again") from None


def _read_bytes(entry: bytes | Path) -> bytes:
    return entry.read_bytes() if isinstance(entry, Path) else entry


# What CIFAR-10's pickled batches hold besides dicts, lists, ints and bytes: numpy arrays, pickled by the numpy of
# 2009 (numpy.core) or of today (numpy._core, and _frombuffer for pickle protocol 5); protocol 2 from Python 3
# spells bytes as _codecs.encode(str, "latin1").
PICKLED_GLOBALS = frozenset({("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
                             ("numpy._core.multiarray", "_reconstruct"), ("numpy.core.numeric", "_frombuffer"),
                             ("numpy._core.numeric", "_frombuffer"), ("_codecs", "encode")})


class CifarUnpickler(pickle.Unpickler):
    """An unpickler that builds what a CIFAR-10 batch holds and nothing else: a pickle naming any other
    global (``os.system``, a class of some package) could run code, and is refused."""

    def find_class(self, module: str, name: str):
        if (module, name) not in PICKLED_GLOBALS:
            raise pickle.UnpicklingError(f"{module}.{name}")
        return super().find_class(module, name)


def _read_pickled(files: dict[str, bytes | Path], path: Path) -> tuple[Split, Split]:
    by_name = {_parts(name)[-1]: entry for name, entry in files.items() if _parts(name)}

    def batch(name: str) -> Split:
        if name not in by_name:
            raise DataError(f"{path} has no {name}: the cifar-10-batches-py folder is incomplete; download it again")
        try:
            d = CifarUnpickler(io.BytesIO(_read_bytes(by_name[name])), encoding="bytes").load()
            images = np.asarray(d[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
            labels = np.asarray(d[b"labels"], dtype=np.int64)
        except pickle.UnpicklingError as e:
            raise DataError(f"{path}: batch {name} is not a CIFAR-10 batch: it names {e}, which could run code; "
                            "refused (download the batches from their source again)") from None
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
    parts = {name: _parts(name) for name in files}
    roots = {p[:-3] for p in parts.values() if len(p) >= 3 and p[-3] in ("train", "test")}
    if len(roots) != 1:
        found = "none" if not roots else ", ".join(sorted("/".join(r) or "." for r in roots))
        raise DataError(
            f"{path} is not in ImageFolder layout: expected one folder holding train/<class>/ and test/<class>/ "
            f"(found {found}); see README 'Offline CIFAR-10'"
        )
    (root,) = roots
    depth, prefix = len(root), "".join(f"{p}/" for p in root)
    listed = {}
    for split in ("train", "test"):
        per_class: dict[str, list[str]] = {}
        for name, p in parts.items():
            if len(p) == depth + 3 and p[depth] == split:  # under the one root: each such name gave its root
                per_class.setdefault(p[depth + 1], []).append(name)
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


def _parts(name: str) -> tuple[str, ...]:
    """The folders and file name of a stored name, as ``PurePosixPath(name).parts`` gives them for a relative
    name (``./`` and doubled slashes dropped), at a tenth of its cost: a read parses 60,000 names."""
    return tuple(p for p in name.split("/") if p and p != ".")


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
    except UnidentifiedImageError:  # its message names the BytesIO it read, not the file
        raise DataError(f"{name} cannot be decoded as an image (not a format PIL knows, or damaged); remove or "
                        "replace it") from None
    except OSError as e:
        raise DataError(f"{name} cannot be decoded as an image ({e}); remove or replace it") from None
