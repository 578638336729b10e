"""The test tiers' guard (tests/conftest.py): `system` tests run only when asked for.

Checked on a throwaway test file (never on tests/test_slurm.py itself, which would install
SLURM here if the guard failed), with this repository's conftest.py and markers.
"""

import pytest
from conftest import REPO, SYSTEM_ENV

pytest_plugins = ["pytester"]

TESTS = """
import pytest

@pytest.mark.system
def test_changes_the_machine(tmp_path):
    pass

def test_plain():
    pass
"""


@pytest.fixture
def tiers(pytester, monkeypatch):
    monkeypatch.delenv(SYSTEM_ENV, raising=False)
    pytester.makeconftest((REPO / "tests" / "conftest.py").read_text())
    pytester.makeini("[pytest]\naddopts = -ra\nmarkers =\n    system: changes the machine\n"
                     "    workflow: runs snakemake\n    slow: minutes\n")
    pytester.makepyfile(test_tiers_demo=TESTS)
    return pytester


def test_system_tests_are_skipped_with_the_reason_by_default(tiers):
    result = tiers.runpytest_subprocess("--strict-markers")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED*changes this machine*--run-system*"])


@pytest.mark.parametrize("how", ["option", "env"])
def test_system_tests_run_when_asked(tiers, monkeypatch, how):
    if how == "env":
        monkeypatch.setenv(SYSTEM_ENV, "1")
    result = tiers.runpytest_subprocess(*(["--run-system"] if how == "option" else []))
    result.assert_outcomes(passed=2)


def test_slurm_tests_are_marked_system():
    import ast

    tree = ast.parse((REPO / "tests" / "test_slurm.py").read_text())
    marks = [node for node in ast.walk(tree) if isinstance(node, ast.Assign)
             and any(getattr(t, "id", None) == "pytestmark" for t in node.targets)]
    assert marks and "pytest.mark.system" in ast.unparse(marks[0].value)


def test_workflow_modules_leave_the_quick_tier(tiers):
    tiers.makepyfile(test_workflow="def test_dag():\n    pass\n")
    result = tiers.runpytest_subprocess("--strict-markers", "-m", "not slow and not workflow",
                                        "--run-system")
    result.assert_outcomes(passed=2, deselected=1)
