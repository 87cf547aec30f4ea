import numpy as np
import pytest
import torch
from torch import nn

from s11lib.config import CLASSES
from s11lib.datasets import Split
from s11lib.engine import evaluate
from s11lib.gradcam import gradcam, overlay
from s11lib.loaders import DeviceLoader
from s11lib.mistakes import confusion_matrix, find_misclassified, most_confused, per_class_accuracy
from s11lib.model import ResNet9


def outputs_of(preds, losses, probs=None) -> dict:
    preds = np.asarray(preds)
    return {"preds": preds, "losses": np.asarray(losses, float),
            "probs": np.asarray(probs if probs is not None else np.full(len(preds), 0.5))}


def split_of(labels) -> Split:
    labels = np.asarray(labels)
    images = (np.arange(len(labels))[:, None, None, None] * np.ones((1, 32, 32, 3))).astype(np.uint8)  # image i is all i
    return Split(images, labels)


def test_the_most_confidently_wrong_come_first():
    test = split_of([0, 1, 2, 3, 4, 5])
    out = outputs_of(preds=[0, 2, 2, 9, 9, 9], losses=[5.0, 0.7, 9.0, 3.0, 4.0, 3.0], probs=[.9, .4, .8, .6, .7, .5])
    mis = find_misclassified(test, out, n=3)
    assert mis.indices.tolist() == [4, 3, 5]
    assert mis.losses.tolist() == [4.0, 3.0, 3.0]  # ties keep test-set order; the right ones (0, 2) never appear
    assert mis.probs.tolist() == [.7, .6, .5] and mis.preds.tolist() == [9, 9, 9]
    assert mis.images[:, 0, 0, 0].tolist() == [4, 3, 5] and mis.labels.tolist() == [4, 3, 5]


def test_by_class_takes_the_worst_of_each_class_in_turn():
    test = split_of([0, 0, 0, 1, 1, 2])
    out = outputs_of(preds=[1, 1, 1, 0, 0, 0], losses=[1.0, 3.0, 2.0, 0.5, 4.0, 0.1])
    assert find_misclassified(test, out, n=6, spread=True).indices.tolist() == [4, 1, 5, 2, 3, 0]
    assert find_misclassified(test, out, n=6).indices.tolist() == [4, 1, 2, 0, 3, 5]


def test_confusion_matrix_per_class_accuracy_and_most_confused_on_a_hand_built_example():
    labels = np.array([0, 0, 0, 0, 1, 1, 3, 3, 3, 9])
    preds = np.array([0, 0, 5, 5, 1, 0, 5, 3, 5, 9])
    m = confusion_matrix(labels, preds)
    assert m.shape == (10, 10) and m.sum() == 10
    assert m[0].tolist() == [2, 0, 0, 0, 0, 2, 0, 0, 0, 0]
    assert m[1, :2].tolist() == [1, 1] and m[3, 3] == 1 and m[3, 5] == 2 and m[9, 9] == 1
    acc = per_class_accuracy(m)
    assert list(acc) == list(CLASSES)
    assert (acc["airplane"], acc["automobile"], acc["cat"], acc["truck"]) == (50.0, 50.0, pytest.approx(100 / 3), 100.0)
    assert np.isnan(acc["dog"])  # no dog in this test set
    assert most_confused(m) == [("airplane", "dog", 2), ("cat", "dog", 2), ("automobile", "airplane", 1)]


def test_per_class_accuracy_averages_to_the_accuracy_on_a_balanced_set(tiny):
    torch.manual_seed(0)
    test = tiny[1]  # 4 images of each class
    cpu = torch.device("cpu")
    result = evaluate(ResNet9(), DeviceLoader(test, 16, cpu, train=False), nn.CrossEntropyLoss(), cpu, keep_outputs=True)
    acc = per_class_accuracy(confusion_matrix(test.labels, result["outputs"]["preds"]))
    assert np.mean(list(acc.values())) == pytest.approx(result["accuracy"])


def test_evaluate_keeps_each_images_prediction_probability_and_loss():
    torch.manual_seed(0)
    model, cpu = ResNet9(), torch.device("cpu")
    x, y = torch.randn(12, 3, 32, 32), torch.arange(12) % 10
    result = evaluate(model, [(x[:5], y[:5]), (x[5:], y[5:])], nn.CrossEntropyLoss(), cpu, keep_outputs=True)
    with torch.no_grad():
        logits = model.eval()(x)
    out = result["outputs"]
    assert out["preds"].tolist() == logits.argmax(1).tolist()
    np.testing.assert_allclose(out["probs"], logits.softmax(1).amax(1).numpy(), rtol=1e-5)
    np.testing.assert_allclose(out["losses"], nn.functional.cross_entropy(logits, y, reduction="none").numpy(), rtol=1e-5)
    assert out["losses"].mean() == pytest.approx(result["loss"], rel=1e-5)


def test_gradcam_leaves_the_model_as_it_found_it():
    torch.manual_seed(0)
    model = ResNet9().train()
    model.fc.weight.grad = torch.ones_like(model.fc.weight)
    images = np.random.default_rng(0).integers(0, 256, (3, 32, 32, 3), dtype=np.uint8)
    maps = gradcam(model, images, np.array([1, 2, 3]), torch.device("cpu"), layer="layer2")
    assert maps.shape == (3, 32, 32)
    assert model.training
    assert torch.equal(model.fc.weight.grad, torch.ones_like(model.fc.weight))
    assert all(p.grad is None for name, p in model.named_parameters() if name != "fc.weight")


def test_the_true_class_map_targets_the_true_class():
    torch.manual_seed(0)
    model = ResNet9().eval()
    images = np.random.default_rng(1).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    cpu = torch.device("cpu")
    a = gradcam(model, images, np.array([0, 0, 0, 0]), cpu, layer="layer2")
    b = gradcam(model, images, np.array([0, 7, 0, 7]), cpu, layer="layer2")
    np.testing.assert_allclose(a[[0, 2]], b[[0, 2]], atol=1e-6)  # same class asked: same map
    assert all(np.abs(a[i] - b[i]).max() > 1e-3 for i in (1, 3))  # another class: another map
    blended = overlay(images, a)
    assert blended.shape == (4, 32, 32, 3) and blended.dtype == np.uint8


def test_no_module_imports_pytorch_grad_cam_before_a_map_is_drawn():
    """pytorch_grad_cam imports scikit-learn, SciPy and torchvision (5 s of 9 to import the train job on a 2-core
    CPU): a range test, a sweep, a run that stops early and a notebook that shows a saved try pay none of it."""
    import ast
    from pathlib import Path

    import s11lib

    at_import = [(p.name, ast.unparse(node)) for p in sorted(Path(s11lib.__file__).parent.glob("*.py"))
                 for node in ast.walk(ast.parse(p.read_text())) if isinstance(node, (ast.Import, ast.ImportFrom))
                 and "pytorch_grad_cam" in ast.unparse(node) and node.col_offset == 0]
    assert at_import == []
