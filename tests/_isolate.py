"""Crash-contained test modules (issue 18): a module whose tests can take their process down (an
OpenCL or CUDA driver that aborts or segfaults) runs in a child ``python -m pytest``, one child
per module, and the child's reports come back as its items' outcomes. A child that dies from a
signal, or overruns ``--isolate-timeout`` on one test, fails only the test that was running
(with the signal's name and that test's output, faulthandler's stacks included); the rest of
the module runs in a new child, and the session still ends with pytest's summary. Each test
is reported as soon as its child finishes it; a SIGTERM (CI's ``timeout``) ends the session
like Ctrl-C, every finished test reported and the summary line printed.

Which tests: those in modules matching the ini option ``isolate_modules`` (rootdir-relative
globs; default below) and those marked ``isolated`` (``pytestmark = pytest.mark.isolated`` for
a module). Items that their skip/skipif marks skip run in this process: none of their code
runs. ``--no-isolate`` (or ``--pdb``) keeps everything in this process.

The protocol (tests/_isolate_run.py): the parent writes the node ids to run to
``nodeids.json`` in a fresh directory and starts the child with
``MBTORCH_TESTS_ISOLATE_CHILD=<directory>`` (the child removes it from its environment, so its
own subprocesses are not children of this scheme); the child runs only those ids and appends
one JSON line per event (``start`` with its output offset, each ``report`` as pytest serializes
it for pytest-xdist, ``finish``) to ``progress.jsonl``, its stdout and stderr going to
``output.log`` (``--capture=tee-sys``, unbuffered, so a test's output is on disk before a crash
can lose it). ``--isolate-per=run`` runs each run of consecutive isolated tests (all of them
when only device modules are selected, as in CI) in one child, a new one after a crash: one
child's start-up instead of one per module. A run ends at the first test that runs here, so a
child never runs beside this process's own tests.
"""

from __future__ import annotations

import fnmatch
import json
import os
import signal
import sys
import threading
from pathlib import Path

import pytest
from _pytest.skipping import evaluate_skip_marks  # the skip/skipif rule pytest itself applies

from ._isolate_run import CHILD_ENV, ChildRun

__all__ = ["CHILD_ENV", "DEFAULT_MODULES", "DEFAULT_TIMEOUT"]

DEFAULT_MODULES = ("tests/plugins/test_opencl*.py", "tests/plugins/test_cuda*.py")
DEFAULT_TIMEOUT = 900.0
"""Seconds one test may run in a child; generous because a cold OpenCL compiler cache makes
the slowest device tests take minutes on a loaded CI machine."""
# the import root of this module, so that the child can load it with -p before the ini
# option `pythonpath` applies
_IMPORT_ROOT = Path(__file__).resolve().parents[__name__.count(".")]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("isolate", "crash-contained test modules (tests/_isolate.py)")
    group.addoption("--no-isolate", action="store_true", default=False,
                    help="run the modules that isolate_modules or the isolated marker name in "
                         "this process (a crash then ends the session)")
    group.addoption("--isolate-timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                    help="fail an isolated test that runs longer than this and kill its child "
                         f"(default {DEFAULT_TIMEOUT:g})")
    group.addoption("--isolate-per", choices=("module", "run"), default="module",
                    help="one child per module (default), or one per run of consecutive "
                         "isolated tests, across modules (a child's start-up, some 8 s of "
                         "CPU, paid once)")
    parser.addini("isolate_modules", "rootdir-relative globs of test modules that run in a "
                  "child pytest process", type="linelist", default=list(DEFAULT_MODULES))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "isolated: run in a child pytest process, one per "
                            "module, so that a crash fails one test, not the session "
                            "(tests/_isolate.py)")
    rundir = os.environ.pop(CHILD_ENV, None)
    if rundir:
        config.pluginmanager.register(_Child(config, Path(rundir)), "isolate-child")
    elif not _in_process_only(config):
        config.pluginmanager.register(_Parent(config), "isolate-parent")


def _in_process_only(config: pytest.Config) -> bool:
    opt = config.option
    if opt.isolate_timeout <= 0:
        raise pytest.UsageError(f"--isolate-timeout: must be positive, got {opt.isolate_timeout}")
    return bool(opt.no_isolate or opt.usepdb or opt.collectonly or opt.setuponly
                or opt.setupplan)


class _Child:
    """Runs in the child: keeps only the parent's node ids and logs each event."""

    def __init__(self, config: pytest.Config, rundir: Path) -> None:
        self.config = config
        self.wanted = set(json.loads((rundir / "nodeids.json").read_text(encoding="utf-8")))
        self.log = open(rundir / "progress.jsonl", "a", encoding="utf-8")  # noqa: SIM115

    def _write(self, **event) -> None:
        self.log.write(json.dumps(event, default=str) + "\n")
        self.log.flush()

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list) -> None:
        dropped = [item for item in items if item.nodeid not in self.wanted]
        if dropped:
            items[:] = [item for item in items if item.nodeid in self.wanted]
            config.hook.pytest_deselected(items=dropped)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item):
        self._write(start=item.nodeid, offset=_output_size())
        result = yield
        self._write(finish=item.nodeid)  # not reached when the test ends the process
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self._write(report=self.config.hook.pytest_report_to_serializable(
            config=self.config, report=report))


def _output_size() -> int:
    for stream in (sys.__stdout__, sys.__stderr__):
        if stream is not None:
            stream.flush()
    try:
        return os.fstat(1).st_size
    except OSError:  # stdout closed by a test: the tail then starts at the beginning
        return 0


class _Parent:
    """Runs in the parent: hands each isolated item its reports from a child, as the child
    settles it."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.globs = config.getini("isolate_modules")
        self.run: ChildRun | None = None
        self.results: dict[str, list[pytest.TestReport]] = {}  # settled by an ended child
        self.previous = None  # the SIGTERM handler before the session's

    def pytest_sessionstart(self) -> None:
        # CI's `timeout` sends SIGTERM, which would end this process without a summary; as an
        # interruption (Ctrl-C) pytest still reports every settled test and its summary line.
        # Restored at unconfigure; only the main thread may set handlers.
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGTERM, _interrupt)

    def pytest_sessionfinish(self) -> None:
        self._retire()  # -x, or an interruption: nothing outlives the session

    def pytest_unconfigure(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGTERM, self.previous)

    def wanted(self, item: pytest.Item) -> bool:
        """Whether ``item`` is in a device module (ini option or marker)."""
        try:
            path = item.path.relative_to(self.config.rootpath).as_posix()
        except ValueError:  # outside the rootdir: only the marker applies
            path = None
        return item.get_closest_marker("isolated") is not None or (
            path is not None and any(fnmatch.fnmatchcase(path, g) for g in self.globs))

    def isolated(self, item: pytest.Item) -> bool:
        return self.wanted(item) and evaluate_skip_marks(item) is None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem) -> bool | None:
        if not self.isolated(item):
            return None
        item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
        try:
            reports = self._reports(item)
        except BaseException:  # KeyboardInterrupt, SIGTERM: leave no child behind
            # a test the child finished before the signal came still counts in the summary
            reports = self._finished(item)
            self._retire()
            if reports:
                self._log(item, reports)
            raise
        self._log(item, reports)
        return True

    @staticmethod
    def _log(item: pytest.Item, reports: list[pytest.TestReport]) -> None:
        for report in reports:
            item.ihook.pytest_runtest_logreport(report=report)
        item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)

    def _finished(self, item: pytest.Item) -> list[pytest.TestReport]:
        """The reports of ``item`` if its child had finished it when the session was
        interrupted, else none."""
        if self.run is None or item.nodeid not in self.run.pending:
            return self.results.pop(item.nodeid, [])
        self.run.progress.read()
        if item.nodeid not in self.run.progress.finished:
            return []
        return self.run.take(item.nodeid)

    def _reports(self, item: pytest.Item) -> list[pytest.TestReport]:
        while item.nodeid not in self.results:  # each ended child settles one item at least
            if self.run is None or item.nodeid not in self.run.pending:
                self._retire()
                self.run = ChildRun(self._todo(item), self.config, __name__, _IMPORT_ROOT)
            if self.run.wait(item.nodeid) and self.run.pending != {item.nodeid}:
                return self.run.take(item.nodeid)
            # the child's last test, or the child ended without it: its end tells the rest
            self.results.update(self.run.end(item))
            self.run = None
        return self.results.pop(item.nodeid)

    def _todo(self, first: pytest.Item) -> list[pytest.Item]:
        """``first`` and the isolated items after it that have no outcome: those of its
        module, or with --isolate-per=run those up to the next test of another kind."""
        items = first.session.items
        rest = items[items.index(first) + 1:]
        if self.config.option.isolate_per == "run":
            end = next((n for n, i in enumerate(rest) if not self.wanted(i)), len(rest))
            rest = rest[:end]
        else:
            rest = [i for i in rest if i.path == first.path]
        return [first] + [i for i in rest if i.nodeid not in self.results and self.isolated(i)]

    def _retire(self) -> None:
        if self.run is not None:
            self.run.close()
            self.run.tmp.cleanup()
            self.run = None


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt(f"{signal.Signals(signum).name} received")
