"""ResNet-9 (David Page's DAWNBench net, as set in the assignment): 6,573,130 parameters."""

from __future__ import annotations

import torch
from torch import nn


def conv_bn(c_in: int, c_out: int, pool: bool = False) -> nn.Sequential:
    """conv3x3 (stride 1, pad 1, no bias) -> [MaxPool2] -> BatchNorm -> ReLU."""
    layers = [nn.Conv2d(c_in, c_out, kernel_size=3, padding=1, bias=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    layers += [nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class ResLayer(nn.Module):
    """X = conv_bn(pool); R = conv_bn(conv_bn(X)); output X + R."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv = conv_bn(c_in, c_out, pool=True)
        self.res = nn.Sequential(conv_bn(c_out, c_out), conv_bn(c_out, c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        return x + self.res(x)


class ResNet9(nn.Module):
    """prep 64 -> layer1 128 (+res) -> layer2 256 -> layer3 512 (+res) -> MaxPool4 -> FC 10.

    Returns logits times ``logit_scale``; the softmax lives in the loss
    (``nn.CrossEntropyLoss``). Page scales by 0.125 so that the untrained net starts near
    ln(10) instead of at a loss twice as high (docs/model-and-figures.md, "Logit scale"). ``width`` is the prep layer's
    channels (64), which the others double; the tests train a narrower net in-process.
    """

    def __init__(self, num_classes: int = 10, logit_scale: float = 0.125, width: int = 64):
        super().__init__()
        self.logit_scale = logit_scale
        self.prep = conv_bn(3, width)
        self.layer1 = ResLayer(width, 2 * width)
        self.layer2 = conv_bn(2 * width, 4 * width, pool=True)
        self.layer3 = ResLayer(4 * width, 8 * width)
        self.pool = nn.MaxPool2d(4)
        self.fc = nn.Linear(8 * width, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layer3(self.layer2(self.layer1(self.prep(x))))
        return self.fc(torch.flatten(self.pool(x), 1)) * self.logit_scale


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def summary(model: nn.Module, input_size: tuple[int, ...] = (1, 3, 32, 32)) -> str:
    """A table of each top-level block's output shape and parameter count."""
    rows, hooks = [], []
    for name, block in model.named_children():
        hooks.append(block.register_forward_hook(lambda m, i, o, name=name: rows.append((name, m, tuple(o.shape)))))
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(input_size, device=device))
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    lines = [f"{'block':<8} {'type':<11} {'output shape':<20} {'params':>10}", "-" * 52]
    for name, block, shape in rows:
        lines.append(f"{name:<8} {type(block).__name__:<11} {str(list(shape)):<20} {count_parameters(block):>10,}")
    lines += ["-" * 52, f"{'total':<41} {count_parameters(model):>10,}"]
    return "\n".join(lines)
