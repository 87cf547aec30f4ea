"""Settings of the wrong type are refused where the recipe is (Config), before any work, naming the
field as the command line and Python spell it: the CLI, the Python API, the notebook and sweeps all
build a Config, so they share the check."""

import dataclasses
import time

from pathlib import Path

import numpy as np
import pytest

import s11lib
from s11lib.config import Config, ConfigError, InputError, field_kinds

WRONG = [  # field, value, the kind it must be: one of each kind of field
    ("epochs", 2.5, "a whole number"), ("epochs", "2", "a whole number"), ("epochs", True, "a whole number"),
    ("subset", 100.5, "a whole number or None"), ("batch_size", 32.0, "a whole number"), ("seed", 1.5, "a whole number"),
    ("workers", "0", "a whole number or None"), ("peak_epoch", 1.0, "a whole number or None"),
    ("momentum", "0.9", "a number"), ("max_lr", "0.4", "a number or None"), ("min_lr", True, "a number or None"),
    ("compile", 1, "True or False"), ("progress", "yes", "True or False or None"), ("augment", 3, "a string"),
]


def test_every_field_kind_is_covered():
    assert {field_kinds()[name] for name, _, _ in WRONG} == set(field_kinds().values())


@pytest.mark.parametrize("name, value, kind", WRONG)
def test_the_api_refuses_a_wrong_type_before_any_work(name, value, kind, sources, tmp_path):
    start = time.perf_counter()
    with pytest.raises(InputError) as e:
        s11lib.train(out=tmp_path / "run", data=str(sources["folder"]), **{name: value})
    flag = "--" + name.replace("_", "-")
    assert str(e.value) == f"{flag} ({name}= in Python) must be {kind}, got {value!r} ({type(value).__name__})"
    assert time.perf_counter() - start < 15 and not (tmp_path / "run").exists()


@pytest.mark.parametrize("lists, message", [
    ({"max_lr": "0.4"}, "--max-lr (max_lr= in Python) must be a number or None, got '0.4' (str)"),
    ({"epochs": [2, "3"]}, "--epochs (epochs= in Python) must be a whole number, got '3' (str)"),
    ({"repeat": "2"}, "--repeat (repeat= in Python) must be a whole number, got '2' (str)"),
    ({"ray_cpus": "2"}, "--ray-cpus (ray_cpus= in Python) must be a number, got '2' (str)"),
    ({"max_lrs": [0.1]}, "unknown config field(s) max_lrs"),
])
def test_the_sweep_api_checks_its_lists_and_numbers_the_same_way(lists, message, sources, tmp_path):
    with pytest.raises(InputError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        s11lib.sweep(out=tmp_path / "sweep", data=str(sources["folder"]), **lists)
    assert not (tmp_path / "sweep").exists()


def test_whole_numbers_of_other_types_are_kept_as_python_numbers():
    cfg = Config(epochs=np.int64(12), max_lr=1, min_lr=np.float32(0.25))
    assert (type(cfg.epochs), type(cfg.max_lr), type(cfg.min_lr)) == (int, float, float)
    assert cfg.to_json() == Config(epochs=12, max_lr=1.0, min_lr=0.25).to_json() and cfg.peak == 3
    with pytest.raises(ConfigError, match="unknown config field"):
        Config.from_dict({"epoch": 3})


def test_a_given_min_lr_of_zero_is_pages_schedule_and_a_negative_one_is_refused():
    assert Config(min_lr=0.0, max_lr=0.4).min_lr == 0.0 and Config(min_lr=0, max_lr=0.4).min_lr == 0.0
    with pytest.raises(ConfigError, match="min-lr must be >= 0, got -0.1"):
        Config(min_lr=-0.1, max_lr=0.4)
    with pytest.raises(ConfigError, match="max-lr must be > 0, got 0"):
        Config(min_lr=0.0, max_lr=0.0)


def test_replace_gives_the_config_the_constructor_gives():
    """The peak's default follows the epochs through dataclasses.replace, as the notebook's variants use it."""
    assert dataclasses.replace(Config(), epochs=12) == Config(epochs=12) and dataclasses.replace(Config(), epochs=12).peak == 3
    assert dataclasses.replace(Config(epochs=12), epochs=3) == Config(epochs=3)  # no ConfigError: the peak is 1 there
    assert dataclasses.replace(Config(peak_epoch=2), epochs=12).peak == 2  # a given peak stays given
    assert Config(peak_epoch=np.int64(3), epochs=12).to_json() == Config(peak_epoch=3, epochs=12).to_json()
    assert Config.from_dict(Config(epochs=12).to_dict()) == Config(epochs=12)


def test_settings_read_booleans_as_the_command_line_does_and_expand_paths(monkeypatch, capsys, tmp_path):
    from s11lib import settings

    for value, expected in (("1", True), ("true", True), ("YES", True), ("0", False), ("no", False), ("", False)):
        assert settings.flag("S11_X", {"S11_X": value}) is expected
    assert settings.flag("S11_X", {}) is False
    with pytest.raises(ConfigError, match="S11_X must be 1, true or yes \\(or 0, false, no\\), got 'maybe'"):
        settings.flag("S11_X", {"S11_X": "maybe"})
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("RUNS", str(tmp_path / "runs"))
    assert settings.path("S11_RUN", "runs/notebook", {"S11_RUN": "~/s11"}) == tmp_path / "home" / "s11"
    assert settings.path("S11_RUN", "runs/notebook", {"S11_RUN": "$RUNS/a"}) == tmp_path / "runs" / "a"
    assert settings.path("S11_RUN", "runs/notebook", {}) == Path("runs/notebook")
    assert [settings.integer("S11_SEED", 1, env) for env in ({}, {"S11_SEED": ""}, {"S11_SEED": " 3 "})] == [1, 1, 3]
    for value in ("3.0", "three", "0x3"):
        with pytest.raises(ConfigError, match=f"^S11_SEED must be a whole number, got '{value}'$"):
            settings.integer("S11_SEED", 1, {"S11_SEED": value})
    cfg = settings.smoke(Config(epochs=3, data="x"))
    assert cfg.epochs == 2 and "epochs 3 -> 2" in capsys.readouterr().out
