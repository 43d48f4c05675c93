"""h2spec, the HTTP/2 conformance suite (146 tests), against the TLS listener
and the h2c listener. Built from the bundled source in ../shared/tools/h2spec
(cached under the portico cache directory) unless PORTICO_H2SPEC names a binary."""

import os
import re
import subprocess
from pathlib import Path

import pytest

from harness import single_route_snapshot

BUILD_SCRIPT = Path(__file__).resolve().parents[2].parent / "shared/tools/h2spec/build.sh"


@pytest.fixture(scope="module")
def h2spec():
    if os.environ.get("PORTICO_H2SPEC"):
        return os.environ["PORTICO_H2SPEC"]
    assert BUILD_SCRIPT.exists(), f"h2spec's source is expected at {BUILD_SCRIPT}"
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def proxy(module_launch):
    backend = module_launch.backend("h2spec")
    return module_launch.dataplane(single_route_snapshot(backend), extra_args=["--h2c"])


@pytest.mark.timeout_s(300)
@pytest.mark.parametrize("listener", ["tls", "h2c"])
def test_h2spec_passes_everything(h2spec, proxy, listener, tmp_path):
    args = ["-t", "-k", "-p", str(proxy.https_port)] if listener == "tls" else ["-p", str(proxy.port)]
    report = tmp_path / "report.xml"
    proc = subprocess.run([h2spec, "-h", "127.0.0.1", "-o", "5", "-j", str(report), *args],
                          capture_output=True, text=True, timeout=280)
    summary = re.search(r"(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed", proc.stdout)
    assert summary, proc.stdout[-3000:] + proc.stderr[-2000:]
    total, passed, skipped, failed = map(int, summary.groups())
    failures = proc.stdout[proc.stdout.find("Failures:"):]
    assert (total, failed, skipped) == (146, 0, 0), failures[-6000:]
    assert passed == 146
    assert proxy.alive()
