"""One child pytest of tests/_isolate.py: started on some items of one module, read while it
runs, and turned into each item's reports when it ends, a crash or a timeout included."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

__all__ = ["CHILD_ENV", "ChildRun"]

CHILD_ENV = "MBTORCH_TESTS_ISOLATE_CHILD"
KILL_GRACE = 10.0  # seconds from SIGABRT (faulthandler prints every thread) to SIGKILL
# seconds between looks at the child's progress (tests/test_isolation.py slows it down to
# catch a signal that comes between a test's end in the child and the parent's next look)
POLL = float(os.environ.get("MBTORCH_TESTS_ISOLATE_POLL", "0.1"))
TAIL_LINES = 80
_PYTEST_FRAME = re.compile(r'^  File "(.*[/\\](_pytest|pluggy|pytest)[/\\][^"]*|<frozen runpy>)", '
                           r"line \d+ in ")


class _Progress:
    """The child's event log, read as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.pos = 0
        self.started: list[str] = []
        self.finished: set[str] = set()
        self.offsets: dict[str, int] = {}
        self.reports: dict[str, list[dict]] = {}

    def read(self) -> int:
        """Take in the complete lines written since the last call; return how many tests
        started or finished in them."""
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        complete = data[:data.rfind(b"\n") + 1]
        self.pos += len(complete)
        events = 0
        for line in complete.splitlines():
            event = json.loads(line)
            if "start" in event:
                events += 1
                self.started.append(event["start"])
                self.offsets[event["start"]] = event["offset"]
            elif "finish" in event:
                events += 1
                self.finished.add(event["finish"])
            else:
                report = event["report"]
                if isinstance(report.get("longrepr"), list):  # a skip's (path, line, reason),
                    report["longrepr"] = tuple(report["longrepr"])  # a list after JSON
                self.reports.setdefault(report["nodeid"], []).append(report)
        return events


class ChildRun:
    """A child ``python -m pytest`` over ``todo`` (items of one module, in order).

    ``plugin`` is the module name of tests/_isolate.py, which the child loads with ``-p``
    from ``import_root`` (before the ini option ``pythonpath`` applies)."""

    def __init__(self, todo: list[pytest.Item], config: pytest.Config, plugin: str,
                 import_root: Path) -> None:
        self.todo, self.config = todo, config
        self.pending = {item.nodeid for item in todo}  # not yet handed to the parent
        self.limit = config.option.isolate_timeout
        self.timed_out = False
        self.tmp = tempfile.TemporaryDirectory(prefix="mbtorch-isolate-")
        rundir = Path(self.tmp.name)
        (rundir / "nodeids.json").write_text(json.dumps(sorted(self.pending)), encoding="utf-8")
        self.progress = _Progress(rundir / "progress.jsonl")
        self.progress.path.touch()
        self.output = rundir / "output.log"
        env = {**os.environ, CHILD_ENV: str(rundir), "PYTHONUNBUFFERED": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [str(import_root),
                                                           os.environ.get("PYTHONPATH")]))}
        with open(self.output, "wb") as out:
            # a session of its own: CI's `timeout` signals only the parent, which then kills
            # this child and still prints its summary
            self.proc = subprocess.Popen(
                _command(config, todo, plugin), cwd=config.invocation_params.dir, env=env,
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.deadline = time.monotonic() + self.limit

    def wait(self, nodeid: str | None) -> bool:
        """Wait until ``nodeid`` has finished in the child (True) or the child has ended
        (False); kill the child when one test, its start-up or what follows its last test
        runs longer than --isolate-timeout."""
        while True:
            running = self._poll()
            if nodeid is not None and nodeid in self.progress.finished:
                return True
            if not running:
                return False
            time.sleep(POLL)

    def _poll(self) -> bool:
        if self.progress.read():
            self.deadline = time.monotonic() + self.limit
        if self.proc.poll() is not None:
            self.progress.read()
            return False
        if time.monotonic() > self.deadline:
            self.timed_out = True
            self.proc.send_signal(signal.SIGABRT)  # faulthandler prints where each thread is
            try:
                self.proc.wait(timeout=KILL_GRACE)
            except subprocess.TimeoutExpired:
                pass
            self.close()
            self.progress.read()
            return False
        return True

    def take(self, nodeid: str) -> list[pytest.TestReport]:
        """The reports of a test that has finished in the child."""
        self.pending.discard(nodeid)
        return [self.config.hook.pytest_report_from_serializable(config=self.config, data=d)
                for d in self.progress.reports.get(nodeid, [])]

    def close(self) -> None:
        """Kill what is left of the child and its subprocesses."""
        if self.proc.poll() is None or self.timed_out:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:  # the group is gone already
                pass
        self.proc.wait()

    def end(self, current: pytest.Item) -> dict[str, list[pytest.TestReport]]:
        """Wait for the child to end; return the reports of the tests it settled, a crash
        failing the test it interrupted (``current``, if it struck after the last test)."""
        self.wait(None)
        output = self.output.read_bytes()
        self.tmp.cleanup()
        if self.config.option.capture == "no":  # -s: the child's output, as it came
            sys.stdout.write(output.decode(errors="replace"))
        done = [n for n in self.pending if n in self.progress.finished]
        out = {nodeid: self.take(nodeid) for nodeid in done}
        by_id = {item.nodeid: item for item in self.todo}
        running = [n for n in self.progress.started if n in self.pending]
        death = self._death()
        if death is None and not running:  # a normal end that skipped some: -x, a lost id
            return out | {n: [_failure(by_id[n], "setup", "the child pytest ended without "
                                       "running this test", _tail(output, 0))]
                          for n in self.pending}
        death = death or f"the child pytest exited with code {self.proc.returncode}"
        if running:  # the crash's victim; the tests after it run in the next child
            victim = by_id[running[0]]
            reports = self.take(victim.nodeid)
            out[victim.nodeid] = reports + [_failure(
                victim, _phase(reports), f"{death} while running this test",
                _tail(output, self.progress.offsets[victim.nodeid]))]
        elif not self.progress.started:  # start-up or collection: a next child would fare
            out |= {n: [_failure(by_id[n], "setup", f"{death} before it ran any test",  # alike
                                 _tail(output, 0))] for n in self.pending}
        elif current.nodeid in out:  # after the last test, at session end or exit
            out[current.nodeid].append(_failure(
                current, "teardown", f"{death} after this test passed its teardown (no test "
                "was running)", _tail(output, self.progress.offsets[current.nodeid])))
        else:
            out[current.nodeid] = [_failure(current, "setup", f"{death} between two tests, "
                                            "before this one started", _tail(output, 0))]
        return out

    def _death(self) -> str | None:
        """How the child ended, where that is not a normal pytest exit; None if it is."""
        code = self.proc.returncode
        if self.timed_out:
            return (f"timed out: a test ran longer than --isolate-timeout={self.limit:g} s; "
                    "its child pytest was killed")
        if code < 0:
            sig = signal.Signals(-code)
            return (f"the child pytest died from {sig.name} (signal {sig.value}: "
                    f"{signal.strsignal(sig)})")
        if code not in (0, 1):
            return f"the child pytest exited with code {code}"
        return None


def _command(config: pytest.Config, todo: list[pytest.Item], plugin: str) -> list[str]:
    """The child's command line: the parent's options that shape a report, its modules."""
    opt = config.option
    args = [sys.executable, "-X", "faulthandler", "-m", "pytest", "-p", plugin,
            "-p", "no:cacheprovider", f"--rootdir={config.rootpath}", f"--tb={opt.tbstyle}",
            f"--import-mode={opt.importmode}",
            "--capture=no" if opt.capture == "no" else "--capture=tee-sys"]
    if config.inipath is not None:
        args += ["-c", str(config.inipath)]
    args += ["-v"] * opt.verbose if opt.verbose > 0 else ["-q"]
    for flag, values in (("-W", opt.pythonwarnings), ("-o", opt.override_ini),
                         ("-p", opt.plugins)):
        for value in values or ():
            args += [flag, value]
    if opt.showlocals:
        args.append("-l")
    if opt.maxfail:
        args.append(f"--maxfail={max(1, opt.maxfail - todo[0].session.testsfailed)}")
    return args + list(dict.fromkeys(str(item.path) for item in todo))  # the parent's order


def _phase(reports: list[pytest.TestReport]) -> str:
    """The phase a test was in when its process died, from the phases it reported."""
    if not reports:
        return "setup"
    if any(r.when == "call" for r in reports) or reports[-1].outcome != "passed":
        return "teardown"
    return "call"


def _failure(item: pytest.Item, when: str, headline: str, tail: str) -> pytest.TestReport:
    text = (f"{headline} [{item.nodeid}, {when}] (tests/_isolate.py)\n"
            f"---- the child's stdout and stderr from this test's start (last {TAIL_LINES} "
            f"lines) ----\n{tail}")
    return pytest.TestReport(item.nodeid, item.location, {k: 1 for k in item.keywords},
                             "failed", text, when)


def _tail(output: bytes, offset: int) -> str:
    """The output from ``offset``, its last lines, faulthandler's pytest frames folded."""
    lines: list[str] = []
    for line in output[offset:].decode(errors="replace").splitlines():
        if not _PYTEST_FRAME.search(line):
            lines.append(line)
        elif lines and lines[-1].startswith("  ... frames of pytest"):
            continue
        else:
            lines.append("  ... frames of pytest and pluggy")
    return "\n".join(lines[-TAIL_LINES:]) if lines else "(no output)"
