"""Records survive a process killed while writing them, and a damaged record is one true line, never a
traceback and never a finished run that is not: each test puts the fault in for real (a writer killed
with SIGKILL after half its bytes, a file cut short or edited) and reads the folder back."""

import json
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import HANG
from s11lib.cli import main
from s11lib.outputs import contents, readable

ROOT = Path(__file__).resolve().parents[1]
TINY = ["--subset", "20", "--epochs", "2", "--peak-epoch", "1", "--batch-size", "10", "--workers", "0", "--device", "cpu",
        "--no-progress", "--min-lr", "0.01", "--max-lr", "0.1"]

KILLED_WRITER = textwrap.dedent("""
    import builtins, os, signal, sys
    from pathlib import Path
    from s11lib import outputs

    class HalfThenKilled:  # writes half of what it is given, reaches the disk, and the process dies there
        def __init__(self, f):
            self.f = f
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            self.f.close()
        def write(self, text):
            self.f.write(text[: len(text) // 2])
            self.f.flush()
            os.fsync(self.f.fileno())
            os.kill(os.getpid(), signal.SIGKILL)

    outputs.open = lambda *a, **k: HalfThenKilled(builtins.open(*a, **k))
    outputs.write_atomic(Path(sys.argv[1]), sys.argv[2])
""")


def killed_while_writing(path: Path, text: str) -> None:
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), text], cwd=ROOT, capture_output=True,
                          text=True, timeout=HANG)
    assert done.returncode == -signal.SIGKILL, done.stderr[-2000:]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, sources) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    assert main(["train", "--data", str(sources["tar.gz"]), "--out", str(out), *TINY]) == 0
    return out


def copy_of(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / "run"))


def test_a_record_killed_mid_write_keeps_the_whole_old_one_and_a_first_one_is_not_there(tmp_path, finished_run):
    run = copy_of(finished_run, tmp_path)
    before = (run / "metrics.json").read_text()
    killed_while_writing(run / "metrics.json", json.dumps({"test_accuracy": 99.0, "note": "x" * 5000}))
    assert (run / "metrics.json").read_text() == before and contents(run)[0] == "finished"
    (run / "metrics.json").unlink()
    killed_while_writing(run / "metrics.json", before)
    assert not (run / "metrics.json").exists()  # the run is still unfinished, and --resume finishes it
    assert contents(run)[0] == "unfinished"


def test_a_damaged_metrics_json_beside_a_checkpoint_is_resumed_and_rewritten_without_training(tmp_path, finished_run,
                                                                                             capsys):
    run = copy_of(finished_run, tmp_path)
    whole = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text((run / "metrics.json").read_text()[:100])  # cut short, as by an older writer
    assert contents(run)[0] == "unfinished" and not readable(run / "metrics.json")
    assert main(["summary", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "Traceback" not in err
    assert f"{run / 'metrics.json'} is damaged (not JSON" in err and f"train --resume {run}" in err
    assert main(["train", "--resume", str(run)]) == 0
    again = json.loads((run / "metrics.json").read_text())
    assert again["test_accuracy"] == whole["test_accuracy"] and again["confusion_matrix"] == whole["confusion_matrix"]


@pytest.mark.parametrize("content, said", [
    ("not json", "is damaged (not JSON: Expecting value)"),
    ('{"a": 1}', "is damaged (no test_accuracy, best_test_accuracy, test_accuracy_tta"),
    ("[1, 2]", "is damaged (a JSON list, not a dict)"),
])
def test_summary_of_a_damaged_record_is_one_true_line(content, said, tmp_path, finished_run, capsys):
    run = copy_of(finished_run, tmp_path)
    (run / "checkpoint.pt").unlink()  # nothing to rewrite it from: the line says so
    (run / "metrics.json").write_text(content)
    assert main(["summary", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and said in err and "only a new run can replace it" in err and "Traceback" not in err


def test_a_truncated_sweep_json_is_one_line_for_summary_and_for_the_sweep_run_again(tmp_path, capsys, sources):
    out = tmp_path / "sweep"
    out.mkdir()
    (out / "sweep_config.json").write_text(json.dumps({"settings": {}}))
    (out / "sweep.json").write_text('[{"point": "one-cycle-e2-lr0.1", "sch')
    assert main(["summary", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"{out / 'sweep.json'} is damaged (not JSON" in err and "Traceback" not in err
    (out / "sweep_config.json").write_text("{")
    assert main(["sweep", "--data", str(sources["tar.gz"]), "--out", str(out), "--max-lr", "0.1", *TINY[:10]]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and f"{out / 'sweep_config.json'} is damaged" in err and "Traceback" not in err


def test_summary_of_an_unfinished_run_whose_checkpoint_was_cut_short_says_it_cannot_go_on(tmp_path, finished_run,
                                                                                         capsys):
    run = copy_of(finished_run, tmp_path)
    (run / "metrics.json").unlink()
    assert main(["summary", str(run)]) == 2 and f"continue it with: python -m s11lib train --resume {run}" in \
        capsys.readouterr().err  # whole: it can go on
    (run / "checkpoint.pt").write_bytes((run / "checkpoint.pt").read_bytes()[:2000])
    assert main(["summary", str(run)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 1 and "has not finished and cannot be continued: checkpoint" in err
    assert "cannot be read" in err and "--overwrite" in err and "--resume" not in err
