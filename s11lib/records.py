"""What a finished run records and prints: metrics.json's content (``metrics``, with each start's code and
machine, ``start_record``), history.csv (``write_history``) and the report it prints (``report``)."""

from __future__ import annotations

from datetime import datetime, timezone

import torch

from . import provenance
from .config import CLASSES
from .engine import at_chance, autocast_dtype, precision_note
from .figures import lr_source
from .mistakes import per_class_table
from .model import count_parameters
from .outputs import RunFolder, csv_text
from .steps import Results, State


def start_record(epoch: int, device: torch.device, code: dict | None = None) -> dict:
    """One start (``epoch`` 0) or resume (after ``epoch``) of a run: when, the code (this checkout's, or
    ``code``: a Ray driver's) and the machine."""
    return {"epoch": epoch, "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **(code or provenance.code()), **provenance.machine(device)}


PROVENANCE = ("s11lib_version", "commit", "torch_version", "device_name", "threads")  # metrics.json's, from the last start


def metrics(state: State, fitted: dict, results: Results) -> dict:
    """metrics.json's content: the headline numbers, timings, LRs, what the model got wrong, and the code
    and machine that finished the run (every start and resume in "starts")."""
    history, cfg, device, found = fitted["history"], state.cfg, state.device, state.lr_finder
    last = history[-1]
    starts = state.starts or [start_record(0, device)]
    return {
        "test_accuracy": last["test_acc"], "best_test_accuracy": max(r["test_acc"] for r in history),
        "test_accuracy_tta": results.tta,  # the final model, scored on each image and its mirror (not a second run)
        "train_accuracy": last["train_acc"], "test_loss": last["test_loss"], "epochs": cfg.epochs,
        "warnings": [w for w in [at_chance(last["test_acc"], last["test_loss"], len(CLASSES))] if w],
        "train_seconds": fitted["train_seconds"], "eval_seconds": fitted["eval_seconds"],
        "lr_finder_seconds": state.finder_seconds, "data_seconds": state.data_seconds, "min_lr": fitted["lr_min"],
        "max_lr": fitted["lr_max"], "lr_rule": found["rule"] if found else None,  # None: the pair was given
        "lr_finder_note": found["note"] if found else None, "lr_finder_warnings": found["warnings"] if found else [],
        "params": count_parameters(state.model),
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else device.type,
        "data": state.data.source, "train_images": len(state.data.train), "test_images": len(state.data.test),
        "augment": cfg.augment, "seed": cfg.seed, "compile": cfg.compile, "schedule": cfg.schedule,
        "precision": str(autocast_dtype(cfg.precision, device) or torch.float32).removeprefix("torch."),
        "precision_note": precision_note(cfg.precision, device),  # why: asked, or what auto read off the device
        "per_class_accuracy": results.per_class,  # percent of each class's test images predicted right
        "most_confused": [{"true": t, "predicted": p, "count": n} for t, p, n in results.confused],
        "confusion_matrix": results.confusion.tolist(),  # rows: true class, columns: predicted class (CLASSES order)
        **{k: starts[-1][k] for k in PROVENANCE}, "starts": starts,
    }


REPORTED = ("test_accuracy", "best_test_accuracy", "test_accuracy_tta", "epochs", "train_seconds", "min_lr", "max_lr",
            "lr_rule", "per_class_accuracy", "most_confused")  # what ``report`` reads of metrics.json


def report(m: dict) -> str:
    """The lines a finished run prints: the headline accuracy, where its LRs came from, then per-class
    accuracy and the confusions (all from metrics.json's content)."""
    confused = [(c["true"], c["predicted"], c["count"]) for c in m["most_confused"]]
    return (f"test accuracy {m['test_accuracy']:.2f}% (best {m['best_test_accuracy']:.2f}%, "
            f"with flip TTA {m['test_accuracy_tta']:.2f}%), {m['epochs']} epochs, training {m['train_seconds']:.1f}s; "
            f"LRMIN {m['min_lr']:.4g}, LRMAX {m['max_lr']:.4g}, {lr_source(m['lr_rule'])}\n"
            + per_class_table(m["per_class_accuracy"], confused))


def write_history(folder: RunFolder, history: list[dict]) -> None:
    folder.write("history.csv", text=csv_text(history, list(history[0])))
