"""s11lib: ResNet-9 on CIFAR-10 with Leslie Smith's one-cycle (super-convergence) recipe."""

__version__ = "0.1.0"
