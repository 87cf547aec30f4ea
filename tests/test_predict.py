"""Your own image through a trained net (`s11 predict`, `s11lib.predict`): real PNG and JPEG files written
here, any size; the same answer the run's own evaluation gives for the same pixels; a text file refused in
one line before any work."""

from __future__ import annotations

import re

import numpy as np
import pytest
from PIL import Image

import s11lib
from s11lib.cli import main
from s11lib.config import CLASSES, InputError


@pytest.fixture(scope="module")
def test_images(learnable):
    from s11lib.datasets import load_cifar10

    return load_cifar10(str(learnable)).test


def test_a_32x32_png_gets_the_runs_own_answer_and_a_larger_jpeg_is_cut_and_resized(trained, test_images, tmp_path):
    import torch
    from torch import nn

    from s11lib import checkpoint
    from s11lib.engine import build_model, evaluate
    from s11lib.loaders import DeviceLoader

    png = tmp_path / "first.png"
    Image.fromarray(test_images.images[0]).save(png)  # lossless: the very pixels the run scored
    big = tmp_path / "wide photo.jpg"
    Image.fromarray(np.kron(test_images.images[1], np.ones((3, 4, 1), np.uint8))).save(big, quality=95)  # 128x96

    preds = s11lib.predict(trained, [png, big])
    assert [p.how for p in preds] == ["32x32", "128x96, its centre 96x96 resized to 32x32"]
    for p in preds:
        classes, probs = zip(*p.top)
        assert len(set(classes)) == 3 and set(classes) <= set(CLASSES)
        assert list(probs) == sorted(probs, reverse=True) and 0 < sum(probs) <= 1 + 1e-6
        assert p.image.shape == p.gradcam.shape == (32, 32, 3) and p.gradcam.dtype == np.uint8
        assert not np.array_equal(p.gradcam, p.image)  # a map drawn over it
    np.testing.assert_array_equal(preds[0].image, test_images.images[0])

    ckpt = checkpoint.load(trained / "checkpoint.pt")
    model = build_model(ckpt["config"], torch.device("cpu"))
    checkpoint.load_weights(model, ckpt, trained / "checkpoint.pt")
    scored = evaluate(model, DeviceLoader(test_images, 40, torch.device("cpu"), train=False), nn.CrossEntropyLoss(),
                      torch.device("cpu"), keep_outputs=True)["outputs"]
    assert preds[0].top[0][0] == CLASSES[int(scored["preds"][0])]
    assert preds[0].top[0][1] == pytest.approx(float(scored["probs"][0]), abs=1e-5)


def test_s11_predict_answers_for_a_png_and_a_jpeg_and_refuses_a_text_file_in_one_line(trained, test_images,
                                                                                       tmp_path, capsys):
    png, jpg, text = tmp_path / "a.png", tmp_path / "b.jpeg", tmp_path / "notes.png"
    Image.fromarray(test_images.images[2]).save(png)
    Image.fromarray(np.kron(test_images.images[3], np.ones((2, 2, 1), np.uint8))).convert("L").save(jpg)  # grey
    text.write_text("not an image, whatever its name says\n")
    fig = tmp_path / "figs" / "mine.png"

    assert main(["predict", "--checkpoint", str(trained), str(png), str(jpg), "--out", str(fig)]) == 0
    lines = capsys.readouterr().out.splitlines()
    top3 = r"( \w+ \d+\.\d%,){2} \w+ \d+\.\d%"
    assert re.fullmatch(r"a\.png \(32x32\):" + top3, lines[0]), lines[0]
    assert re.fullmatch(r"b\.jpeg \(64x64 resized to 32x32\):" + top3, lines[1]), lines[1]
    assert lines[2:] == [f"wrote {fig} (each image at 32x32 beside the GradCAM map of its top class)"]
    assert Image.open(fig).size[0] > 0

    assert main(["predict", "--checkpoint", str(trained), str(png), str(text), "--out", str(tmp_path / "x.png")]) == 2
    out, err = capsys.readouterr()
    assert err == (f"error: {text} is not an image (PIL: UnidentifiedImageError); give PNG, JPEG or another image "
                   "PIL reads\n") and out == ""
    assert not (tmp_path / "x.png").exists()
    with pytest.raises(InputError, match="is not a file"):
        s11lib.predict(trained, [tmp_path / "missing.jpg"])
    with pytest.raises(InputError, match="notes.png is not an image"):  # the files first, then the checkpoint
        s11lib.predict(tmp_path / "no-such-run", [png, text])


def test_readmes_predict_line_on_the_smoke_run_of_the_real_data(smoke, offline_copy, tmp_path, capsys):
    """README's predict line, its photo a real CIFAR-10 test image of the offline copy enlarged to 96x96 JPEG,
    on the run README's smoke commands trained on the real data."""
    from conftest import the_real_net
    from readme import PREDICT

    from s11lib.datasets import load_cifar10

    test = load_cifar10(str(offline_copy), subset=500).test
    photo = tmp_path / "my-cat.jpg"
    Image.fromarray(test.images[0]).resize((96, 96), Image.Resampling.BICUBIC).save(photo, quality=90)
    words = PREDICT.split()[3:]
    argv = [str(smoke) if w == "runs/smoke" else str(photo) if w == "my-cat.jpg" else
            str(tmp_path / "predictions.png") if w.endswith("predictions.png") else w for w in words]
    with the_real_net():  # the smoke run trained the recipe's net
        assert main(argv) == 0
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"my-cat\.jpg \(96x96 resized to 32x32\):( \w+ \d+\.\d%,){2} \w+ \d+\.\d%", lines[0])
    assert (tmp_path / "predictions.png").is_file()
