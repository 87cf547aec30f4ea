"""What the notebook's first cell installs: exactly the lines the running Python does not satisfy."""

from s11lib.requirements import unmet


def test_only_unsatisfied_lines_are_returned(tmp_path):
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("# a comment\nnumpy>=1.0  # satisfied\nnumpy>=999\nno-such-package-s11>=1\n\nPyTest>=1\n"
                    "albumentations>=2.0.5,<3\njupyter>=1.0\n")
    assert unmet(reqs) == ["numpy>=999", "no-such-package-s11>=1"]  # names compare canonically (PyTest); jupyter skipped
    assert unmet(reqs, skip=frozenset({"numpy", "no-such-package-s11", "jupyter"})) == []
