"""The HTTP benchmarks' shared parts: gunicorn on a loopback socket, wrk, and CPU read from /proc.

Importable before Django is set up (nothing here imports the project at module level), so that a
bench can import it next to ``_setup``. Used by dashboard_load.py, moderation_queue.py and
submit_load.py.
"""

import base64
import contextlib
import http.client
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Headers = dict[str, str] | None


def production_environment(var_dir: Path, **env: str) -> None:
    """Production settings for this process and the gunicorn it starts (which inherits them), plus ``env``.

    DEBUG off, fresh random keys, warnings only; loopback only, which has no TLS: no redirect to https.
    """
    sys.path.insert(0, str(ROOT))
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "LOSSPROOF_VAR_DIR": str(var_dir),
        "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "REPORT_REF_KEY": secrets.token_urlsafe(32),
        "AUDIT_KEY": secrets.token_urlsafe(32),
        "EXPORT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(), "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0", **env})


class Server:
    """gunicorn on a loopback socket this process binds, so no other program can take the port.

    ``app`` is the WSGI application gunicorn serves, ``pythonpath`` a folder put before the project
    on its path (e.g. bench/ for a bench's own app), ``options`` more gunicorn flags. gunicorn
    inherits this process's environment: set the settings before starting it.
    """

    def __init__(self, log: Path, *, workers: int, app: str = "config.wsgi", pythonpath: Path | None = None,
                 options: tuple[str, ...] = ()):
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.port, fd = self.listener.getsockname()[1], self.listener.fileno()
        self.log_path = log
        self.log = open(log, "wb")  # noqa: SIM115 - closed in stop()
        path = ["--pythonpath", str(pythonpath)] if pythonpath else []
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), *path, app, "--bind", f"fd://{fd}",
             "--workers", str(workers), "--config", str(ROOT / "config" / "gunicorn.conf.py"), *options],
            cwd=ROOT, pass_fds=[fd], stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str, cookie: str = "", headers: Headers = None) -> tuple[int, dict, bytes]:
        """One GET on a fresh connection: status, headers, body."""
        sent = {**({"Cookie": cookie} if cookie else {}), **(headers or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request("GET", path, headers=sent)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def wait_ready(self, path: str, cookie: str = "", headers: Headers = None) -> None:
        """Return once ``path`` answers 200 (sent with ``cookie`` and ``headers``).

        Raise, with the log's last lines, if gunicorn exits or does not answer within 60 s."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}:\n{self.log_tail()}")
            with contextlib.suppress(OSError):
                if self.get(path, cookie, headers)[0] == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer within 60 s:\n{self.log_tail()}")

    def pids(self, master: bool = False) -> list[int]:
        """gunicorn's live workers, and its master first with ``master``."""
        pid = self.process.pid
        workers = [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        return [pid, *workers] if master else workers

    def log_tail(self, lines: int = 30) -> str:
        self.log.flush()
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()
        self.listener.close()


# --- wrk ---------------------------------------------------------------------------------------

WRK_SCRIPT = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %.3f %.3f %.3f\\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000))
end
"""


@dataclass
class WrkRun:
    requests: int
    status_errors: int  # answers outside 2xx/3xx
    socket_errors: int  # connect, read, write, timeout
    p50: float  # ms, from wrk's latency histogram
    p95: float
    p99: float

    @property
    def errors(self) -> int:
        return self.status_errors + self.socket_errors


def wrk(url: str, *, connections: int, seconds: float, threads: int = 1, cookie: str = "") -> WrkRun:
    """Drive ``url`` with wrk (closed loop, ``connections`` connections) for ``seconds``."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="lossproof-wrk-") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        out = subprocess.run(["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s",
                              "--timeout", "30s", "-s", script.name,
                              *(["-H", f"Cookie: {cookie}"] if cookie else []), url],
                             capture_output=True, text=True, check=True).stdout
    fields = next(line for line in out.splitlines() if line.startswith("RESULT")).split()[1:]
    return WrkRun(*map(int, fields[:3]), *map(float, fields[3:]))


# --- CPU from /proc ----------------------------------------------------------------------------


def database_pids() -> list[int]:
    """PostgreSQL's backends serving Django's default database (their title names it); none for SQLite."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return []
    title = f" {connection.settings_dict['NAME']} ".encode()
    pids = []
    for folder in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            if title in (folder / "cmdline").read_bytes():
                pids.append(int(folder.name))
    return pids


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used so far, from /proc/PID/stat."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(OSError):  # a process that ended between listing and reading
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings. A process started in between counts from zero; one
    that ended is lost (rare: gunicorn's workers and the database's backends stay)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())
