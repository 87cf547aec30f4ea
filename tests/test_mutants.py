"""The watchdog watched: every row of tests/mutants.py names a file, right code and a test that exist
(`--check`, so a rename fails here instead of in the record), and pytest's statuses are read right."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("mutants", ROOT / "tests" / "mutants.py")
mutants = importlib.util.module_from_spec(spec)
spec.loader.exec_module(mutants)


def test_every_row_names_a_file_code_and_test_that_exist():
    done = subprocess.run([sys.executable, "tests/mutants.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith(f"{len(mutants.MUTATIONS)} rows checked, 0 broken\n")


def test_only_a_failing_test_is_a_catch(tmp_path):
    """pytest run for real on a test that passes, one that fails, one whose file does not import, one that does
    not exist and a file with no test: only the failing one is CAUGHT; what could not run is BROKEN, never a catch."""
    (tmp_path / "test_cases.py").write_text("def test_passes():\n    pass\n\n\ndef test_fails():\n    assert False\n")
    (tmp_path / "test_broken.py").write_text("import no_such_module_anywhere\n\n\ndef test_x():\n    pass\n")
    (tmp_path / "test_empty.py").write_text("X = 1\n")

    def pytest_says(spec: str) -> str:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", spec],
                              cwd=tmp_path, capture_output=True, text=True)
        return mutants.verdict(done.returncode)

    said = [pytest_says(s) for s in ("test_cases.py::test_passes", "test_cases.py::test_fails", "test_broken.py",
                                     "test_cases.py::test_gone", "test_empty.py")]
    assert said[:2] == ["MISSED", "CAUGHT"]
    assert said[2:] == ["BROKEN (pytest exit 2)", "BROKEN (pytest exit 4)", "BROKEN (pytest exit 5)"]


def test_a_row_whose_file_code_or_test_is_gone_is_broken():
    ids = mutants.collected(["tests/test_schedule.py"])
    assert "tests/test_schedule.py::test_any_length_keeps_the_shape" in ids  # what the file defines
    rows = [(0, ("s11lib/gone.py", "x", "y", "tests/test_schedule.py::test_any_length_keeps_the_shape")),
            (1, ("s11lib/config.py", "this code is nowhere", "y", "tests/test_schedule.py::test_any_length_keeps_the_shape[2-1]")),
            (2, ("s11lib/config.py", "class Config:", "y", "tests/test_schedule.py::test_renamed")),
            (3, ("s11lib/config.py", "class Config:", "y", "tests/test_schedule.py")),
            (4, ("s11lib/config.py", "class Config:", "y", "tests/test_gone.py"))]
    assert mutants.problems(rows, ids) == [
        "0: s11lib/gone.py does not exist", "1: the right code occurs 0 times in s11lib/config.py: 'this code is nowhere'",
        "2: pytest collects no test tests/test_schedule.py::test_renamed",
        "3: names the file tests/test_schedule.py, not the test that must catch the bug",
        "4: names the file tests/test_gone.py, not the test that must catch the bug"]


def test_a_row_number_that_names_no_row_is_an_error_not_an_empty_pass(capsys):
    assert mutants.main([str(len(mutants.MUTATIONS))]) == 2
    assert capsys.readouterr().out == f"no row {len(mutants.MUTATIONS)}: the rows are 0 to {len(mutants.MUTATIONS) - 1}\n"


def test_a_tree_a_killed_run_left_mutated_is_refused(monkeypatch, capsys):
    real = subprocess.run

    def git_says_dirty(args, **kwargs):
        if args[:2] == ["git", "status"]:
            return subprocess.CompletedProcess(args, 0, stdout=" M s11lib/training.py\n", stderr="")
        return real(args, **kwargs)

    monkeypatch.setattr(subprocess, "run", git_says_dirty)
    assert mutants.main(["0"]) == 2
    assert "a run killed mid-row leaves its bug in" in capsys.readouterr().out


def test_the_baseline_finds_the_tests_that_fail_without_any_bug(tmp_path):
    """A row whose test already fails would count any bug as caught: the baseline names it (a parametrized
    case failing counts for its test), and only it."""
    (tmp_path / "test_b.py").write_text("import pytest\n\n@pytest.mark.parametrize('x', [1, 2])\ndef test_no(x):\n"
                                        "    assert x == 1\n\n\ndef test_yes():\n    pass\n")
    ids = [f"{tmp_path / 'test_b.py'}::test_no", f"{tmp_path / 'test_b.py'}::test_yes"]
    assert mutants.baseline(ids) == {ids[0]}
