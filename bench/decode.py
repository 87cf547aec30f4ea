"""Decode a CIFAR-10 copy once into the formats every GPU step reads fast: our own reader's
``cifar-10-batches-py`` (pickled uint8 batches) and airbench's ``cifar10/{train,test}.pt``.

    PYTHONPATH=. python bench/decode.py --data .carry/cifar10-jpeg.tar.gz --out /tmp/decoded

Decoding the 60,000 JPEGs takes 8-12 s on the H200 machine and ~43 s here; reading the
pickled copy back takes about a second. The pixels are exactly those of the JPEG copy
(tests/test_bench.py reads them back), so every group and the peer see the same images.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np

from s11lib.datasets import PICKLED_TEST, PICKLED_TRAIN, Cifar10, Split, load_cifar10


def write_pickled(data: Cifar10, folder: Path) -> Path:
    """``data`` as the original cifar-10-batches-py layout: five training batches and a test batch."""
    folder.mkdir(parents=True, exist_ok=True)

    def dump(name: str, split: Split) -> None:
        rows = split.images.transpose(0, 3, 1, 2).reshape(len(split.images), -1)
        with open(folder / name, "wb") as f:
            pickle.dump({b"data": rows, b"labels": split.labels.tolist(), b"batch_label": name.encode()}, f)

    for name, idx in zip(PICKLED_TRAIN, np.array_split(np.arange(len(data.train)), len(PICKLED_TRAIN))):
        dump(name, Split(data.train.images[idx], data.train.labels[idx]))
    dump(PICKLED_TEST, data.test)
    return folder


def main() -> None:
    import airbench_peer

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, type=Path)
    args = p.parse_args()
    t0 = time.perf_counter()
    data = load_cifar10(args.data)
    pickled = write_pickled(data, args.out / "cifar-10-batches-py")
    airbench_peer.export(data, args.out)
    print(f"decoded {len(data.train)} + {len(data.test)} images of {data.source} in {time.perf_counter() - t0:.1f}s "
          f"into {pickled} and {args.out / 'cifar10'}")


if __name__ == "__main__":
    main()
