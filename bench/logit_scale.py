"""The loss of a freshly initialised ResNet-9 with and without Page's logit scale, on real images.

    python bench/logit_scale.py --data ../shared/data/cifar10-jpeg.tar.gz

Prints, for each scale, the mean cross-entropy of 5 fresh nets (seeds 1-5) on the first 512
training images of a class-balanced 2,000-image subset (normalized, no augmentation).
"""

from __future__ import annotations

import argparse

import torch

from s11lib.augment import normalize
from s11lib.datasets import load_cifar10
from s11lib.model import ResNet9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", required=True)
    args = parser.parse_args()
    data = load_cifar10(args.data, subset=2000)
    x = normalize(torch.from_numpy(data.train.images[:512]).permute(0, 3, 1, 2))
    y = torch.from_numpy(data.train.labels[:512])
    for scale in (0.125, 1.0):
        losses = []
        for seed in range(1, 6):
            torch.manual_seed(seed)
            with torch.no_grad():
                losses.append(torch.nn.functional.cross_entropy(ResNet9(logit_scale=scale)(x), y).item())
        print(f"logit scale {scale:<6} initial loss {sum(losses) / len(losses):.3f} (seeds 1-5: "
              f"{', '.join(f'{v:.3f}' for v in losses)}); ln 10 = 2.303")


if __name__ == "__main__":
    main()
