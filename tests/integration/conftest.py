"""Fixtures: start backends and dataplanes, and kill them all afterwards, even
when a test fails. `launch` lives for one test, `module_launch` for a module
(for suites that share one configuration)."""

import signal

import pytest

from harness import Backend, Dataplane

DEFAULT_TEST_TIMEOUT_S = 60


def pytest_configure(config):
    config.addinivalue_line("markers", "timeout_s(n): kill the test after n seconds")


class Launcher:
    live = []  # launchers whose processes are running, for failure reports

    def __init__(self, tmp_dir):
        self.tmp_dir = tmp_dir
        self.procs = []
        Launcher.live.append(self)

    def backend(self, name="echo", host="127.0.0.1", **kwargs):
        return self._track(lambda: Backend(self.tmp_dir, name, host, **kwargs))

    def dataplane(self, snapshot, **kwargs):
        sub = self.tmp_dir / f"dp{sum(isinstance(p, Dataplane) for p in self.procs)}"
        sub.mkdir()
        return self._track(lambda: Dataplane(sub, snapshot, **kwargs))

    def _track(self, start):
        proc = start()
        self.procs.append(proc)
        return proc

    def stop_all(self):
        Launcher.live.remove(self)
        for proc in reversed(self.procs):
            proc.stop()

    def logs(self):
        return "".join(f"--- {p.name} (pid {p.pid}) stderr tail; files in {self.tmp_dir}\n"
                       f"{p.stderr()[-4000:]}\n" for p in self.procs)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        logs = "".join(launcher.logs() for launcher in Launcher.live)
        if logs:
            report.sections.append(("portico processes", logs))


@pytest.fixture
def launch(tmp_path):
    launcher = Launcher(tmp_path)
    yield launcher
    launcher.stop_all()


@pytest.fixture(scope="module")
def module_launch(tmp_path_factory):
    launcher = Launcher(tmp_path_factory.mktemp("module"))
    yield launcher
    launcher.stop_all()


@pytest.fixture(autouse=True)
def watchdog(request):
    """Every test stops by itself: SIGALRM raises in the test after its time limit."""
    marker = request.node.get_closest_marker("timeout_s")
    limit = marker.args[0] if marker else DEFAULT_TEST_TIMEOUT_S

    def expire(signum, frame):
        raise TimeoutError(f"test exceeded its {limit}s limit")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(limit)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)
