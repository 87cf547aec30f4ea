"""Training and evaluation loops. They return plain data; the caller keeps the history."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterable

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .config import Config, ConfigError
from .model import ResNet9
from .schedule import scheduler as lr_scheduler

POSTFIX_SECONDS = 0.5  # refresh the progress bar's numbers at most this often (each refresh syncs the GPU)


class NonFiniteLoss(RuntimeError):
    """The training loss became NaN or infinite; says where (epoch, batch) and at which LR."""

    def __init__(self, batch: int, lr: float, epoch: int | None = None):
        self.batch, self.lr, self.epoch = batch, lr, epoch
        where = f"epoch {epoch}, " if epoch is not None else ""
        super().__init__(f"the loss became NaN or infinite in {where}batch {batch + 1} at LR {lr:.4g}")


def resolve_device(name: str = "auto") -> torch.device:
    """"auto" -> cuda, then mps, then cpu; a named device that is not there is an error."""
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    if name == "auto":
        return torch.device(next(d for d in ("cuda", "mps", "cpu") if has[d]))
    if name not in has:
        raise ConfigError(f"unknown device {name!r}; use auto, cuda, mps or cpu")
    if not has[name]:
        raise ConfigError(f"device {name} was asked for but is not available on this machine; use --device auto or cpu")
    return torch.device(name)


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for ``precision`` on ``device``; None means plain fp32.

    "auto" is bf16 on CUDA chips with bf16 tensor cores (Ampere, compute capability 8, and
    later), fp16 with a grad scaler on older ones such as Colab's T4 (where
    ``torch.cuda.is_bf16_supported()`` can say yes because bf16 is emulated, slowly), and
    fp32 on the CPU and MPS, so the CPU default path is exact fp32.
    """
    if precision == "auto":
        if device.type != "cuda":
            return None
        return torch.bfloat16 if torch.cuda.get_device_capability(device)[0] >= 8 else torch.float16
    return {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}[precision]


def start_run(cfg: Config) -> torch.device:
    """Process-wide switches for a run, set once where it starts; returns the device.

    Quiets albumentations' update check (it phones home when first imported), turns on cuDNN
    autotuning on CUDA (the batch shape is fixed, so the fastest kernels are found once) and
    seeds the global streams.
    """
    os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")
    device = resolve_device(cfg.device)
    if cfg.precision == "fp16" and device.type == "cpu":
        raise ConfigError("precision fp16 on the CPU has no fast kernels (an epoch took 190x as long as fp32 when "
                          "measured: 358 s against 2.7 s on 200 images); use --precision fp32 (the CPU default)")
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    seed_everything(cfg.seed)
    return device


def show_progress(cfg: Config) -> bool:
    """Progress bars when asked (``cfg.progress``), or by default when they go to a terminal:
    redirected to a file they would fill it with carriage-return updates."""
    return cfg.progress if cfg.progress is not None else sys.stderr.isatty()


def seed_everything(seed: int) -> None:
    """Seed torch and numpy's global streams (model initialisation; loaders carry their own)."""
    torch.manual_seed(seed)
    np.random.seed(seed)


def build_model(cfg: Config, device: torch.device) -> ResNet9:
    """A fresh ResNet-9 on ``device``; channels-last on CUDA."""
    model = ResNet9(logit_scale=cfg.logit_scale).to(device)
    if device.type == "cuda":  # NHWC convolutions are the fast ones on tensor cores
        model = model.to(memory_format=torch.channels_last)
    return model


def make_optimizer(model: nn.Module, cfg: Config, lr: float) -> torch.optim.SGD:
    return torch.optim.SGD(model.parameters(), lr=lr, momentum=cfg.momentum, nesterov=cfg.momentum > 0,
                           weight_decay=cfg.weight_decay)


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)


def _to_device(x: torch.Tensor, y: torch.Tensor, device: torch.device):
    x = x.to(device, non_blocking=True)
    if device.type == "cuda":
        x = x.contiguous(memory_format=torch.channels_last)
    return x, y.to(device, non_blocking=True)


def train_one_epoch(model: nn.Module, loader: Iterable, optimizer: torch.optim.Optimizer, criterion: nn.Module,
                    device: torch.device, *, scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
                    dtype: torch.dtype | None = None, scaler: torch.amp.GradScaler | None = None,
                    progress: bool = False, desc: str = "train") -> dict:
    """One pass over ``loader``, stepping ``scheduler`` after every batch.

    Returns:
        {"loss", "accuracy" (percent), "lrs" (the LR each batch was trained at), "seconds"}; "seconds"
        is the loop's wall time, read after the ``.item()`` that ends it has waited for the device:
        training alone, as the peer's time is (bench/RESULTS.md, "How the two sides are timed").

    Raises:
        NonFiniteLoss: a batch's loss was NaN or infinite (checked once, at the end: a check
        per batch would stall the GPU).
    """
    model.train()
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, lrs, finite, shown = 0, [], [], start
    bar = tqdm(loader, desc=desc, leave=False, disable=not progress, dynamic_ncols=True)
    for x, y in bar:
        x, y = _to_device(x, y, device)
        lrs.append(optimizer.param_groups[0]["lr"])
        with _autocast(device, dtype):
            out = model(x)
            loss = criterion(out, y)
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        loss_sum += loss.detach().float() * len(y)
        correct += (out.detach().argmax(1) == y).sum()
        finite.append(torch.isfinite(loss.detach()))
        seen += len(y)
        if progress and time.perf_counter() - shown > POSTFIX_SECONDS:
            shown = time.perf_counter()
            bar.set_postfix(loss=f"{loss_sum.item() / seen:.3f}", acc=f"{100 * correct.item() / seen:.1f}", lr=f"{lrs[-1]:.3g}")
    finite = torch.stack(finite)
    if not bool(finite.all()):
        bad = int((~finite).nonzero()[0])
        raise NonFiniteLoss(bad, lrs[bad])
    return {"loss": loss_sum.item() / seen, "accuracy": 100.0 * correct.item() / seen, "lrs": lrs,
            "seconds": time.perf_counter() - start}


@torch.no_grad()
def evaluate(model: nn.Module, loader: Iterable, criterion: nn.Module, device: torch.device, *,
             dtype: torch.dtype | None = None, flip: bool = False, keep_outputs: bool = False) -> dict:
    """Mean loss and accuracy (percent) over ``loader`` in eval mode: {"loss", "accuracy", "seconds"}.

    ``flip=True`` is test-time augmentation: each image is scored by the mean of the logits
    for it and for its mirror image (the one augmentation that keeps a test image whole).
    ``keep_outputs=True`` adds "outputs": per image, in the loader's order, numpy arrays
    "preds" (predicted class), "probs" (its softmax probability) and "losses" (cross-entropy),
    for ``mistakes.py``, from this same pass and precision. The model's train/eval mode is
    restored afterwards.
    """
    was_training = model.training
    model.eval()
    start = time.perf_counter()
    loss_sum = torch.zeros((), device=device)
    correct = torch.zeros((), device=device, dtype=torch.long)
    seen, kept = 0, []
    for x, y in loader:
        x, y = _to_device(x, y, device)
        with _autocast(device, dtype):
            out = model(x)
            if flip:
                out = (out + model(x.flip(3))) / 2
            loss = criterion(out, y)
        loss_sum += loss.float() * len(y)
        pred = out.argmax(1)
        correct += (pred == y).sum()
        seen += len(y)
        if keep_outputs:
            logits = out.float()
            kept.append(torch.stack([pred.float(), logits.softmax(1).amax(1),
                                     nn.functional.cross_entropy(logits, y, reduction="none")]))
    model.train(was_training)
    result = {"loss": loss_sum.item() / seen, "accuracy": 100.0 * correct.item() / seen,
              "seconds": time.perf_counter() - start}
    if keep_outputs:
        preds, probs, losses = torch.cat(kept, 1).cpu().numpy()
        result["outputs"] = {"preds": preds.astype(np.int64), "probs": probs, "losses": losses}
    return result


def flip_tta_accuracy(model: nn.Module, loader: Iterable, cfg: Config, device: torch.device) -> float:
    """Test accuracy (percent) of ``model`` scored with flip TTA, in ``cfg``'s precision."""
    dtype = autocast_dtype(cfg.precision, device)
    return evaluate(model, loader, nn.CrossEntropyLoss(), device, dtype=dtype, flip=True)["accuracy"]


def fit(model: nn.Module, train_loader: Iterable, test_loader: Iterable, cfg: Config, device: torch.device, *,
        lr_min: float, lr_max: float, on_epoch: Callable[[dict], None] | None = None,
        resume: dict | None = None) -> dict:
    """The run: ``cfg.epochs`` epochs under ``cfg.schedule``; the recipe's one cycle takes the LR lr_min ->
    lr_max (end of ``cfg.peak_epoch``) -> lr_min.

    Prints one line per epoch (and progress bars with ``cfg.progress``).

    Args:
        on_epoch: called after each epoch with a snapshot {"epoch", "history", "lrs",
            "optimizer", "scheduler", "train_seconds", "eval_seconds"} (state dicts), for checkpoints.
        resume: such a snapshot; training continues after its epoch (the caller restores the
            model's weights and the random states).

    Returns:
        {"history": [per-epoch rows], "lrs": [LR of every batch], "train_seconds", "eval_seconds",
        "test_outputs" (the last evaluation's per-image outputs, see ``evaluate``)}; a row is
        {"epoch", "lr" (at the epoch's last batch), "train_loss", "train_acc", "test_loss",
        "test_acc", "seconds" (train + test of that epoch)}.

    Raises:
        NonFiniteLoss: with the epoch filled in.
    """
    dtype = autocast_dtype(cfg.precision, device)
    scaler = torch.amp.GradScaler(device.type) if dtype == torch.float16 else None
    criterion = nn.CrossEntropyLoss()
    optimizer = make_optimizer(model, cfg, lr_min)
    scheduler = lr_scheduler(optimizer, cfg.schedule, epochs=cfg.epochs, steps_per_epoch=len(train_loader),
                             peak_epoch=cfg.peak_epoch, lr_min=lr_min, lr_max=lr_max)
    net = torch.compile(model) if cfg.compile else model
    state = {"epoch": 0, "history": [], "lrs": [], "train_seconds": 0.0, "eval_seconds": 0.0}
    if resume is not None:
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        state = {k: resume[k] for k in state}
    history, lrs = list(state["history"]), list(state["lrs"])
    train_seconds, eval_seconds = state["train_seconds"], state["eval_seconds"]
    for epoch in range(state["epoch"] + 1, cfg.epochs + 1):
        try:
            tr = train_one_epoch(net, train_loader, optimizer, criterion, device, scheduler=scheduler, dtype=dtype,
                                 scaler=scaler, progress=show_progress(cfg), desc=f"epoch {epoch}/{cfg.epochs}")
        except NonFiniteLoss as e:
            raise NonFiniteLoss(e.batch, e.lr, epoch) from None
        te = evaluate(net, test_loader, criterion, device, dtype=dtype, keep_outputs=epoch == cfg.epochs)
        train_seconds += tr["seconds"]
        eval_seconds += te["seconds"]
        lrs += tr["lrs"]
        row = {"epoch": epoch, "lr": tr["lrs"][-1], "train_loss": tr["loss"], "train_acc": tr["accuracy"],
               "test_loss": te["loss"], "test_acc": te["accuracy"], "seconds": tr["seconds"] + te["seconds"]}
        history.append(row)
        if on_epoch is not None:
            on_epoch({"epoch": epoch, "history": history, "lrs": lrs, "optimizer": optimizer.state_dict(),
                      "scheduler": scheduler.state_dict(), "train_seconds": train_seconds, "eval_seconds": eval_seconds})
        tqdm.write(format_row(row, cfg.epochs))  # once the checkpoint holds the epoch: a line shown is a line kept
    return {"history": history, "lrs": lrs, "train_seconds": train_seconds, "eval_seconds": eval_seconds,
            "test_outputs": te["outputs"]}


def format_row(row: dict, epochs: int) -> str:
    return (f"epoch {row['epoch']:>2}/{epochs}  lr {row['lr']:.4g}  train loss {row['train_loss']:.3f} "
            f"acc {row['train_acc']:5.2f}%  test loss {row['test_loss']:.3f} acc {row['test_acc']:5.2f}%  "
            f"{row['seconds']:.1f}s")
