import subprocess
import sys

import torch

from conftest import HANG, narrow_env
from s11lib.model import ResNet9, count_parameters, summary


def test_parameter_count_matches_the_assignment():
    assert count_parameters(ResNet9()) == 6_573_130


def test_width_scales_every_layer():
    """The tests' narrow net (conftest) is ``width=16``: 16-32-64-128 channels, not a copy of the widths."""
    model = ResNet9(width=16)
    assert [model.prep[0].out_channels, model.layer1.conv[0].out_channels, model.layer2[0].out_channels,
            model.layer3.conv[0].out_channels, model.fc.in_features] == [16, 32, 64, 128, 128]
    assert count_parameters(model) == 412_954


def test_a_process_the_tests_start_with_narrow_env_trains_the_narrow_net_and_loads_nothing_before():
    """tests/narrow/sitecustomize.py, which Python imports at start-up: torch only when the engine is imported."""
    code = ("import sys; before = sorted(m for m in ('torch', 's11lib') if m in sys.modules); import s11lib.engine as e; "
            "from s11lib.model import count_parameters; m = e.build_model(e.Config(), e.torch.device('cpu')); "
            "print(before, type(m).__name__, count_parameters(m))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=narrow_env(), timeout=HANG)
    assert done.stdout == "[] NarrowResNet9 412954\n", done.stderr


def test_output_is_one_logit_per_class():
    assert ResNet9()(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


def test_logit_scale_multiplies_the_logits():
    torch.manual_seed(0)
    model = ResNet9(logit_scale=1.0).eval()
    x = torch.randn(2, 3, 32, 32)
    full = model(x)
    model.logit_scale = 0.125
    torch.testing.assert_close(model(x), full * 0.125)


def test_summary_lists_each_block_with_its_shape_and_parameters():
    text = summary(ResNet9())
    assert "layer1   ResLayer    [1, 128, 16, 16]        369,408" in text
    assert "layer3   ResLayer    [1, 512, 4, 4]        5,901,312" in text
    assert "fc       Linear      [1, 10]                   5,130" in text
    assert text.splitlines()[-1].endswith("6,573,130")
