import numpy as np
import torch

from s11lib.config import CLASSES
from s11lib.data import Split
from s11lib.gradcam import find_misclassified, gradcam, overlay
from s11lib.model import ResNet9


def test_misclassified_then_gradcam_give_arrays(tiny):
    torch.manual_seed(0)
    model, test = ResNet9(), tiny[1]
    mis = find_misclassified(model, test, torch.device("cpu"), n=25)
    assert len(mis.labels) == 25
    assert (mis.preds != mis.labels).all()
    np.testing.assert_array_equal(mis.images, test.images[mis.indices])
    np.testing.assert_array_equal(mis.labels, test.labels[mis.indices])
    maps = gradcam(model, mis.images[:4], mis.preds[:4], torch.device("cpu"), layer="layer2")
    assert maps.shape == (4, 32, 32)
    assert maps.min() >= 0 and maps.max() <= 1
    blended = overlay(mis.images[:4], maps)
    assert blended.shape == (4, 32, 32, 3) and blended.dtype == np.uint8


def test_only_wrong_predictions_are_kept():
    model = ResNet9().eval()
    images = np.zeros((10, 32, 32, 3), np.uint8)
    with torch.no_grad():
        from s11lib.data import normalize
        pred = int(model(normalize(torch.zeros(1, 3, 32, 32, dtype=torch.uint8))).argmax())
    labels = np.arange(10) % len(CLASSES)
    mis = find_misclassified(model, Split(images, labels), torch.device("cpu"))
    assert sorted(mis.labels.tolist()) == [c for c in range(10) if c != pred]


def test_misclassified_are_spread_over_the_classes():
    model = ResNet9().eval()
    labels = np.repeat(np.arange(10), 5)  # stored class by class, as ImageFolder does
    images = np.random.default_rng(0).integers(0, 256, (50, 32, 32, 3), dtype=np.uint8)
    mis = find_misclassified(model, Split(images, labels), torch.device("cpu"), n=9)
    assert len(set(mis.labels.tolist())) >= 8  # at most one class is always predicted right
