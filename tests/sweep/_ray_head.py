"""Start a Ray head on 127.0.0.1 as a child process group and stop it by that PID."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.2)
    return False


@contextlib.contextmanager
def ray_head(tmp: Path, *, num_cpus: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """Yield the address of a fresh head (``ray start --head --block`` in its own session).

    Its temp folder is a short one under /tmp (Ray's socket paths must stay under 108 bytes).
    """
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="dbray", dir="/tmp"))
    full_env = {**os.environ, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", **(env or {})}
    ray_bin = Path(sys.executable).with_name("ray")
    cmd = [
        str(ray_bin) if ray_bin.exists() else "ray", "start", "--head", f"--port={port}",
        "--node-ip-address=127.0.0.1", f"--num-cpus={num_cpus}", "--include-dashboard=false",
        "--disable-usage-stats", f"--temp-dir={temp}", "--block",
    ]  # fmt: skip
    log = open(tmp / "head.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=log, start_new_session=True)
    try:
        if not wait_for_port(port, 90, proc):
            raise RuntimeError(
                f"Ray head did not open port {port}: {(tmp / 'head.log').read_text()}"
            )
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group this test started, by its PID
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
