"""tests/_isolate.py: a module that can crash its process runs in a child pytest, so that an
abort, a segfault or a hang fails the one test that caused it, with its output, and the session
still reports every other test and ends with its summary line. Each case runs an inner pytest
session (pytester, in this process) on a small module written to a temporary directory."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

# each test appends its process id, so that a test can tell which process ran what
RECORD = """
import os, pathlib
def record(name):
    with open(pathlib.Path.cwd() / "pids.txt", "a") as f:  # the inner session's directory
        f.write(f"{name} {os.getpid()}\\n")
"""

CRASHES = RECORD + """
import ctypes, sys, pytest
pytestmark = pytest.mark.isolated

def test_first():
    record("first")

def test_abort():
    print("output before the abort")
    os.abort()

def test_third():
    record("third")

def test_segfault():
    print("output before the segfault")
    ctypes.string_at(0)

@pytest.mark.xfail(reason="known to fail", strict=True)
def test_expected_failure():
    assert 0

def test_skipped():
    pytest.skip("skipped inside the test")

def test_assertion():
    print("printed by a failing test")
    assert 1 + 1 == 3

def test_last():
    record("last")
"""


@pytest.fixture(autouse=True)
def _lean_sessions(monkeypatch):
    """Inner sessions and their children without the installed pytest plugins (hypothesis,
    the conformance suite's): each child starts in a fraction of the time."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "tests._isolate", "-p", "no:cacheprovider", *args)


def pids(pytester: pytest.Pytester) -> dict[str, int]:
    lines = (pytester.path / "pids.txt").read_text().split("\n")
    return {name: int(pid) for name, pid in (line.split() for line in lines if line)}


def test_abort_and_segfault_fail_one_test_each_and_the_rest_report(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "-rA")
    result.assert_outcomes(passed=3, failed=3, skipped=1, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "test_crashes.py .F.FxsF. *",
        "*_ test_abort _*",
        "the child pytest died from SIGABRT (signal 6: *) while running this test "
        "[[]test_crashes.py::test_abort, call]*",
        "output before the abort",
        "Fatal Python error: Aborted",
        '  File "*test_crashes.py", line * in test_abort',
        "*_ test_segfault _*",
        "the child pytest died from SIGSEGV (signal 11: *) while running this test*",
        "output before the segfault",
        '  File "*test_crashes.py", line * in test_segfault',
        "*_ test_assertion _*",
        "E       assert (1 + 1) == 3",
        "*- Captured stdout call -*",
        "printed by a failing test",
        "SKIPPED [[]1] test_crashes.py:*: skipped inside the test",
        "XFAIL test_crashes.py::test_expected_failure - known to fail",
        "FAILED test_crashes.py::test_abort - the child pytest died from SIGABRT*",
        "FAILED test_crashes.py::test_segfault - the child pytest died from SIGSEGV*",
        "*= 3 failed, 3 passed, 1 skipped, 1 xfailed in *",
    ])
    # one child per module, a new one after each crash: three in all, none of them this one
    ran = pids(pytester)
    assert len(set(ran.values())) == 3 and os.getpid() not in ran.values()


def test_a_hang_fails_at_the_time_limit_with_the_stack_and_the_next_test_runs(pytester):
    pytester.makepyfile(test_hang=RECORD + """
import time, pytest
pytestmark = pytest.mark.isolated

def test_hang():
    print("waiting forever")
    time.sleep(600)

def test_after():
    record("after")
""")
    result = run(pytester, "--isolate-timeout=8")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "timed out: a test ran longer than --isolate-timeout=8 s; its child pytest was "
        "killed while running this test [[]test_hang.py::test_hang, call]*",
        "waiting forever",
        '  File "*test_hang.py", line * in test_hang',
        "*= 1 failed, 1 passed in *",
    ])
    assert list(pids(pytester)) == ["after"]


def test_sigterm_interrupts_with_a_summary_and_kills_the_child(pytester):
    pytester.makepyfile(test_hang=RECORD + """
import time, pytest
pytestmark = pytest.mark.isolated

def test_first():
    pass

def test_hang():
    record("hang")
    time.sleep(600)
""")
    root = Path(__file__).resolve().parents[1]
    parent = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "tests._isolate", "-p", "no:cacheprovider"],
        cwd=pytester.path,
        # the parent looks at its child every 5 s, so the signal comes after test_first has
        # ended in the child and before the parent has seen it: it must still be counted
        env={**os.environ, "PYTHONPATH": str(root), "MBTORCH_TESTS_ISOLATE_POLL": "5"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    record = pytester.path / "pids.txt"
    deadline = time.monotonic() + 120
    while not record.exists() and time.monotonic() < deadline and parent.poll() is None:
        time.sleep(0.2)
    parent.terminate()  # what CI's `timeout` sends
    out, _ = parent.communicate(timeout=60)
    assert parent.returncode == pytest.ExitCode.INTERRUPTED, out
    assert "KeyboardInterrupt: SIGTERM received" in out and "= 1 passed in " in out, out
    with pytest.raises(ProcessLookupError):  # the hanging child went with its parent
        os.kill(pids(pytester)["hang"], 0)


def test_plain_modules_and_skipped_modules_run_in_this_process(pytester):
    pytester.makepyfile(test_plain=RECORD + """
def test_plain():
    record("plain")
""", test_skipped_module=RECORD + """
import pytest
pytestmark = [pytest.mark.isolated, pytest.mark.skipif(True, reason="no device here")]

def test_device():
    record("device")
""")
    result = run(pytester, "-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED [[]1] test_skipped_module.py:*: no device here"])
    assert pids(pytester) == {"plain": os.getpid()}


def test_ini_globs_name_isolated_modules(pytester):
    pytester.makeini("[pytest]\nisolate_modules = sub/test_dev*.py\n")
    pytester.mkpydir("sub")
    pytester.path.joinpath("sub", "test_device.py").write_text(RECORD + """
def test_device():
    record("device")
""")
    pytester.makepyfile(test_host=RECORD + """
def test_host():
    record("host")
""")
    run(pytester).assert_outcomes(passed=2)
    ran = pids(pytester)
    assert ran["host"] == os.getpid() and ran["device"] != os.getpid()


def test_selection_reaches_the_child(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "-k", "first or last or third", "--deselect",
                 "test_crashes.py::test_third")
    result.assert_outcomes(passed=2, deselected=6)
    ran = pids(pytester)
    assert sorted(ran) == ["first", "last"] and ran["first"] == ran["last"]  # one child


def test_node_ids_on_the_command_line(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "test_crashes.py::test_abort", "test_crashes.py::test_last")
    result.assert_outcomes(passed=1, failed=1)
    assert list(pids(pytester)) == ["last"]


def test_one_child_per_run_of_modules_restarts_after_a_crash(pytester):
    more = RECORD + """
import pytest
pytestmark = pytest.mark.isolated

def test_more():
    record("more")
"""
    pytester.makepyfile(test_crashes=CRASHES, test_more=more, test_plain=RECORD + """
def test_plain():
    record("plain")
""", test_zlast=more.replace('"more"', '"zlast"'))
    result = run(pytester, "--isolate-per=run", "-k", "first or abort or last or more or plain")
    result.assert_outcomes(passed=5, failed=1, deselected=5)
    ran = pids(pytester)
    assert ran["last"] == ran["more"] != ran["first"]  # the crash cost one child, not two
    # a test of this process ends the run: the next module starts a child of its own after it
    assert ran["plain"] == os.getpid() and ran["zlast"] not in (ran["more"], os.getpid())


def test_maxfail_stops_the_session(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "-x")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*stopping after 1 failures*"])


def test_a_crash_after_the_last_test_is_a_teardown_error(pytester):
    pytester.makepyfile(test_exit=RECORD + """
import atexit, pytest
pytestmark = pytest.mark.isolated

def test_registers_an_abort_at_exit():
    atexit.register(os.abort)

def test_last():
    record("last")
""")
    result = run(pytester)
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines([
        "*ERROR at teardown of test_last*",
        "the child pytest died from SIGABRT * after this test passed its teardown "
        "(no test was running)*",
    ])


def test_a_crash_before_the_first_test_fails_every_test_once(pytester):
    pytester.makeconftest("""
import os

def pytest_collection_finish(session):
    if session.config.pluginmanager.has_plugin("isolate-child"):
        os.abort()  # the driver's start-up dies in the child only
""")
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "-k", "first or third")
    result.assert_outcomes(errors=2, deselected=6)
    result.stdout.fnmatch_lines(["the child pytest died from SIGABRT * before it ran any test*"])


def test_no_isolate_keeps_everything_in_this_process(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    run(pytester, "--no-isolate", "-k", "first").assert_outcomes(passed=1, deselected=7)
    assert pids(pytester) == {"first": os.getpid()}


def test_the_time_limit_must_be_positive(pytester):
    pytester.makepyfile(test_crashes=CRASHES)
    result = run(pytester, "--isolate-timeout=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--isolate-timeout: must be positive, got 0.0*"])
