"""The notebook's tries (s11lib.tries) on tiny data: every rerun tells the truth, each try is a run
folder, and every record names its code and machine. One run directory is made for the module,
as a user of the notebook makes it: a range test, the found pair's try, a typed pair's try that is
interrupted, then continued, then shown."""

import dataclasses
import json
import shutil
import subprocess
import sys
import types

import pytest
import torch

from s11lib import engine, figures, lr_rules, provenance, range_tests, records, steps, training, tries
from s11lib.cli import main
from s11lib.config import Config, Interrupted

pytestmark = pytest.mark.xdist_group("tries")  # the found try and the notebook's steps: made once, in one test process

GIVEN = (0.002, 0.04)


def learnable_config(data) -> Config:
    """The config of conftest's `trained` run (LEARNABLE_RUN), as the notebook would hold it."""
    return Config(data=str(data), epochs=2, peak_epoch=1, batch_size=25, workers=0, device="cpu", finder_iters=8,
                  progress=False)


@pytest.fixture(scope="module")
def state(learnable):
    return steps.prepare(learnable_config(learnable))


@pytest.fixture(scope="module")
def notebook(state, tmp_path_factory):
    """The run directory, and what each step returned and said."""
    d = tmp_path_factory.mktemp("tries")
    epochs = []
    real_epoch = engine.train_one_epoch
    with pytest.MonkeyPatch.context() as mp:
        search = tries.range_test(state, d)
        found = tries.train(state, d, search.lr_min, search.lr_max)

        def stopped_in_epoch_2(*args, **kwargs):
            epochs.append(1)
            if len(epochs) == 2:
                raise KeyboardInterrupt
            return real_epoch(*args, **kwargs)

        mp.setattr(engine, "train_one_epoch", stopped_in_epoch_2)
        with pytest.raises(Interrupted):
            tries.train(state, d, *GIVEN)  # the kernel is stopped in the typed pair's second epoch
        mp.setattr(engine, "train_one_epoch", real_epoch)
        midway = tries.tried(d)
        continued = tries.train(state, d, *GIVEN)
        mp.setattr(training, "train_job", lambda *a, **k: pytest.fail("a finished try was trained again"))
        shown = tries.train(state, d, *GIVEN)
    return types.SimpleNamespace(dir=d, search=search, found=found, midway=midway, continued=continued, shown=shown,
                                 state=state)


def test_the_range_test_is_a_fresh_nets_whatever_ran_before(state, notebook, tmp_path):
    with torch.no_grad():
        state.model.fc.weight.add_(1.0)  # the kernel's model is not the fresh one any more
    for _ in state.train_loader:  # nor are its loader's random streams
        pass
    again = tries.range_test(state, tmp_path)  # a run directory without the saved test: a new test
    assert notebook.search.trusted and (again.lr_min, again.lr_max) == (notebook.search.lr_min, notebook.search.lr_max)
    assert again.tests[0].losses.tolist() == notebook.search.tests[0].losses.tolist()


def test_a_rerun_reads_the_saved_test_back_and_says_so(state, notebook, capsys):
    again = tries.range_test(state, notebook.dir)
    said = capsys.readouterr().out
    assert said.startswith(f"the saved range test of this config, {notebook.dir / 'range-test-1'}")
    first = notebook.search
    assert (again.lr_min, again.lr_max, again.note, again.seconds) == (first.lr_min, first.lr_max, first.note,
                                                                       first.seconds)
    assert [p.name for p in tries.numbered(notebook.dir, tries.RANGE_TEST)] == ["range-test-1"]


def test_another_config_gets_a_range_test_of_its_own(state, notebook, tmp_path):
    shutil.copytree(notebook.dir / "range-test-1", tmp_path / "range-test-1")
    other = dataclasses.replace(state, cfg=dataclasses.replace(state.cfg, finder_iters=6))
    tries.range_test(other, tmp_path)
    assert [p.name for p in tries.numbered(tmp_path, tries.RANGE_TEST)] == ["range-test-1", "range-test-2"]


def test_a_typed_pair_is_recorded_as_given_and_trains_beside_the_found_one(state, notebook):
    found, typed, search = notebook.found, notebook.continued, notebook.search
    assert [found.folder.name, typed.folder.name] == ["try-1", "try-2"] and found.how == "trained"
    m1, m2 = found.metrics, typed.metrics
    assert (m1["lr_rule"], m1["min_lr"], m1["max_lr"]) == ("diverge", search.lr_min, search.lr_max)
    assert m1["lr_finder_note"] == search.note and (found.folder / "lr_finder.json").is_file()
    assert (m2["lr_rule"], m2["lr_finder_note"], m2["min_lr"], m2["max_lr"]) == (None, None, *GIVEN)
    assert not (typed.folder / "lr_finder.json").exists()
    assert json.loads((typed.folder / "metrics.json").read_text()) == m2
    steps_per_epoch = len(state.train_loader)
    drawn = [figures.planned_cycle(state.cfg, steps_per_epoch, lo, hi, tries.pair_source(state, lo, hi)).get_title()
             for lo, hi in ((search.lr_min, search.lr_max), GIVEN)]  # the notebook's planned-cycle cell, per pair
    assert drawn == [
        f"One cycle: the planned LR per batch\nLRMIN {search.lr_min:.3g}, LRMAX {search.lr_max:.3g}, found by the LR "
        "range test (diverge rule)", "One cycle: the planned LR per batch\nLRMIN 0.002, LRMAX 0.04, given"]
    assert "LRMIN 0.002, LRMAX 0.04, given\n" in records.report(m2)
    assert tries.pair_source(state, *GIVEN) == "given"
    assert tries.pair_source(state, search.lr_min, search.lr_max) == "found by the LR range test (diverge rule)"


def test_a_found_pair_stays_found_when_the_data_cell_runs_again(learnable, notebook, monkeypatch):
    """The notebook's cells in their order, then the data cell again: a fresh state holds no range test, yet
    the pair the range-test cell chose still says where it came from, so its finished try is shown."""
    lr_min, lr_max = range_tests.choose_lrs(notebook.state.cfg, notebook.search)  # the range-test cell's LR_MIN, LR_MAX
    assert isinstance(lr_min, float) and (lr_min, lr_max) == (notebook.search.lr_min, notebook.search.lr_max)
    fresh = steps.prepare(learnable_config(learnable))  # the data cell, run again
    assert fresh.search is None
    monkeypatch.setattr(training, "train_job", lambda *a, **k: pytest.fail("a finished try was trained again"))
    again = tries.train(fresh, notebook.dir, lr_min, lr_max)
    assert again.how == "shown" and again.folder == notebook.found.folder
    assert tries.pair_source(fresh, lr_min, lr_max) == "found by the LR range test (diverge rule)"
    assert tries.pair_source(fresh, float(lr_min), float(lr_max)) == "given"  # the same numbers, typed
    other = dataclasses.replace(fresh.cfg, batch_size=20)  # a pair found for another config's range test
    assert tries.pair_config(other, None, lr_min, lr_max) == (dataclasses.replace(other, min_lr=lr_min, max_lr=lr_max),
                                                              None)


def test_the_found_try_trains_what_train_trains(notebook, trained):
    """The same files and numbers as `s11 train` of the same config, which runs its own range test."""
    ours, cli = notebook.found.metrics, json.loads((trained / "metrics.json").read_text())
    assert sorted(p.name for p in notebook.found.folder.iterdir()) == sorted(p.name for p in trained.iterdir())
    for key in ("min_lr", "max_lr", "lr_rule", "test_accuracy", "test_accuracy_tta", "confusion_matrix"):
        assert ours[key] == cli[key], key


def test_an_unfinished_try_continues_and_a_finished_one_is_shown(notebook):
    assert [(r["name"], r["done"], r["finished"]) for r in notebook.midway] == [("try-1", 2, True), ("try-2", 1, False)]
    continued, shown = notebook.continued, notebook.shown
    assert continued.folder.name == "try-2" and continued.how == "continued after epoch 1"
    assert [s["epoch"] for s in continued.metrics["starts"]] == [0, 1]
    assert shown.how == "shown" and shown.folder == continued.folder and shown.metrics == continued.metrics
    assert [p.name for p in tries.numbered(notebook.dir, tries.TRY)] == ["try-1", "try-2"]


def test_the_tries_table_summary_and_figure_list_every_try(notebook, capsys):
    rows = tries.tried(notebook.dir)
    assert [(r["name"], r["done"], r["finished"], r["source"]) for r in rows] == [
        ("try-1", 2, True, "found by the LR range test (diverge rule)"), ("try-2", 2, True, "given")]
    assert main(["summary", str(notebook.dir)]) == 0
    said = capsys.readouterr().out
    assert said == tries.table(notebook.dir) + "\n" and "range-test-1: LRMIN" in said
    assert [line.split()[:3] for line in said.splitlines()[1:3]] == [
        ["try-1", f"{notebook.search.lr_min:.4g}", f"{notebook.search.lr_max:.4g}"], ["try-2", "0.002", "0.04"]]
    ax = figures.plots.tries(tries.curves(notebook.dir))
    assert [line.get_ydata().tolist() for line in ax.get_lines()] == [[h["test_acc"] for h in r["history"]]
                                                                      for r in rows]


def test_the_table_reads_an_unfinished_trys_checkpoint_once(notebook, tmp_path, monkeypatch):
    """A checkpoint holds the net and its optimizer (tens of MB on the full recipe): the table's epochs and
    its status come from one read of it."""
    from s11lib import checkpoint

    d = shutil.copytree(notebook.dir, tmp_path / "runs")
    for name in ("metrics.json", "history.csv"):
        (d / "try-2" / name).unlink()
    reads, load = [], checkpoint.load
    monkeypatch.setattr(checkpoint, "load", lambda path: reads.append(path) or load(path))
    row = next(r for r in tries.tried(d) if r["name"] == "try-2")
    assert (row["done"], row["finished"], reads) == (2, False, [d / "try-2" / "checkpoint.pt"])
    assert row["status"].startswith("unfinished: ") and "cannot be read" not in row["status"]


def test_a_checkpoint_of_every_epoch_without_metrics_is_finished_by_resume(notebook, tmp_path):
    """Stopped while scoring or drawing: `train --resume` scores the last epoch again and writes the rest."""
    folder = shutil.copytree(notebook.continued.folder, tmp_path / "try")
    first = json.loads((folder / "metrics.json").read_text())
    for name in ("metrics.json", "gradcam.png", "gradcam_pairs.png"):
        (folder / name).unlink()
    assert main(["train", "--resume", str(folder)]) == 0
    again = json.loads((folder / "metrics.json").read_text())
    for key in ("test_accuracy", "test_accuracy_tta", "confusion_matrix", "train_seconds"):
        assert again[key] == first[key], key
    assert (folder / "gradcam_pairs.png").is_file() and [s["epoch"] for s in again["starts"]] == [0, 1, 2]


def test_every_metrics_names_its_code_and_machine(notebook):
    import s11lib

    m = notebook.found.metrics
    assert m["s11lib_version"] == s11lib.__version__ and m["torch_version"] == torch.__version__
    assert m["commit"] == provenance.commit() and m["commit"]  # this checkout's
    assert m["device_name"].startswith(provenance.cpu_model()) and "bf16" in m["device_name"]
    assert m["threads"] == torch.get_num_threads() and m["precision"] in ("float32", "bfloat16")
    assert [s["epoch"] for s in m["starts"]] == [0] and m["starts"][0]["device_name"] == m["device_name"]


@pytest.mark.parametrize("has, says", [("AMX-BF16", "(native bf16: AMX-BF16)"), (None, "(no native bf16)")])
def test_a_cpus_name_says_whether_it_has_native_bf16(monkeypatch, has, says):
    """Both kinds of CPU say "bf16" in lower case: a Xeon's record once read "(AMX-BF16)" alone."""
    monkeypatch.setattr(engine, "cpu_bf16", lambda: has)
    assert provenance.device_name(torch.device("cpu")) == f"{provenance.cpu_model()} {says}"


def test_a_copy_outside_its_checkout_has_no_commit(tmp_path):
    """An installed copy (site-packages, a Ray worker's) is no checkout, even inside another git work tree."""
    other = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "x"],
                   cwd=other, check=True)  # a work tree with a commit that a copy inside it could wrongly claim
    for parent in (tmp_path / "plain", other / "venv" / "site-packages"):
        shutil.copytree(provenance.PACKAGE, parent / "s11lib", ignore=shutil.ignore_patterns("__pycache__"))
        done = subprocess.run([sys.executable, "-c", "from s11lib import provenance; print(provenance.commit())"],
                              cwd=parent, capture_output=True, text=True)
        assert done.stdout.strip() == "None", done.stderr


def test_a_try_whose_checkpoint_was_cut_short_is_said_not_silently_trained_anew(state, notebook, tmp_path):
    """The kernel died while the disk was full, say: the try's checkpoint.pt is half there. Rerunning the
    training cell says so in one line (no new try), and the table does not offer to continue it."""
    d = shutil.copytree(notebook.dir, tmp_path / "runs")
    (d / "try-2" / "metrics.json").unlink()
    ckpt = d / "try-2" / "checkpoint.pt"
    ckpt.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(tries.InputError, match=r"^try-2 trained this config and pair, but cannot be continued: checkpoint "
                       r".* cannot be read .*; delete .*try-2 and run this cell again"):
        tries.train(state, d, *GIVEN)
    assert [p.name for p in tries.numbered(d, tries.TRY)] == ["try-1", "try-2"]
    row = next(r for r in tries.tried(d) if r["name"] == "try-2")
    assert row["status"] == "unfinished, its checkpoint.pt cannot be read: delete the folder to train the pair anew"
    assert row["status"] in tries.table(d)


def test_a_change_of_rule_alone_reads_the_saved_curve_again_instead_of_running_a_test(state, notebook, capsys,
                                                                                       monkeypatch):
    """Every rule is a function of the saved curve: `lr_rule="valley"` in the config cell reads range-test-1's
    curve with that rule, in the notebook (no range-test-2, no second test run) and with train --lr-from."""
    monkeypatch.setattr(range_tests, "find_lrs", lambda *a, **k: pytest.fail("the range test ran again"))
    valley = dataclasses.replace(state, cfg=dataclasses.replace(state.cfg, lr_rule="valley"), search=None)
    search = tries.range_test(valley, notebook.dir)
    assert [p.name for p in tries.numbered(notebook.dir, tries.RANGE_TEST)] == ["range-test-1"]
    saved = json.loads((notebook.dir / "range-test-1" / "lr_finder.json").read_text())
    again = [lr_rules.read_curve(t["lrs"], t["losses"], "valley") for t in saved["tests"]]
    assert (search.lr_min, search.lr_max) == (again[0].lr_min, again[0].lr_max)
    assert saved["rule"] == "diverge" and search.note.endswith(
        f"(the valley rule, read from the saved curve of {notebook.dir / 'range-test-1'}, which the diverge rule had read)")


def test_a_try_whose_gradcam_failed_finishes_when_its_cell_runs_again_without_training(state, notebook, tmp_path,
                                                                                        monkeypatch):
    """Training ended, then GradCAM failed (a torchvision that does not match torch): the try has its
    checkpoint of every epoch and no metrics.json. Rerunning the training cell scores and draws it."""
    d = shutil.copytree(notebook.dir, tmp_path / "runs")
    for name in ("metrics.json", "gradcam.png", "gradcam_pairs.png"):
        (d / "try-1" / name).unlink()
    monkeypatch.setattr(engine, "train_one_epoch", lambda *a, **k: pytest.fail("the try was trained again"))
    again = tries.train(state, d, *range_tests.choose_lrs(state.cfg, notebook.search))
    assert again.folder == d / "try-1" and again.how == "continued after epoch 2"
    assert (d / "try-1" / "gradcam.png").stat().st_size > 0
    assert again.metrics["test_accuracy"] == notebook.found.metrics["test_accuracy"]
