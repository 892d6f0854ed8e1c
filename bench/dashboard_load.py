"""Dashboard under load: the page, the stats API and one filtered chart, against live ORM sums.

Run: ``.venv/bin/python bench/dashboard_load.py [--reports 100000] [--claims 10] [--clients 8]
[--seconds 10] [--workers 3] [--database-url postgres://postgres@127.0.0.1:5432/postgres]``

It builds a scratch world (a temporary LOSSPROOF_VAR_DIR; an SQLite file, or a throw-away
PostgreSQL database created beside ``--database-url`` and dropped at the end): one published
incident with ``--reports`` reports over 12 exchanges, 4 assets and 30 days, ``--claims``
transfer claims each, then publishes a release (timed: writing the register and summing its
stats). It starts gunicorn (production settings) on a loopback port and drives it from this
process with closed-loop threads, one connection per request, for ``--seconds`` per endpoint:

- ``/incidents/bench/`` (the dashboard page), ``/api/v1/incidents/bench/stats/`` and
  ``/incidents/bench/charts/by-exchange.csv?release=1&min_tier=T2`` (a filtered chart);
- baseline, in this process: the headline and by-exchange/tier/status sums computed live with
  plain ORM aggregation, repeated for the same number of seconds.

Then it times the live preview's path after a decision: mark stale (the cheap notice) and the
rebuild the coalescing task runs. Figures are printed, never asserted.
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

import argparse
import base64
import http.client
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
TARGETS_MS = {"dashboard page": 150, "stats API": 50}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=10, help="transfer claims per report (default 10)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default 10)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--database-url", default="", help="PostgreSQL server; a scratch database is used")
    return parser.parse_args()


ARGS = parse_args()
VAR_DIR = Path(tempfile.mkdtemp(prefix="lossproof-bench-dash-"))
SCRATCH = f"lossproof_bench_dash_{os.getpid()}"


def _environment() -> None:
    sys.path.insert(0, str(ROOT))
    db = (urlunsplit(urlsplit(ARGS.database_url)._replace(path=f"/{SCRATCH}")) if ARGS.database_url
          else f"sqlite:///{VAR_DIR / 'bench.sqlite3'}")
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "config.settings", "LOSSPROOF_VAR_DIR": str(VAR_DIR), "DATABASE_URL": db,
        "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "REPORT_REF_KEY": secrets.token_urlsafe(32),
        "EXPORT_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(), "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "0",
        "CELERY_BROKER_URL": f"filesystem://{VAR_DIR / 'broker'}"})
    if ARGS.database_url:
        import psycopg

        with psycopg.connect(ARGS.database_url, autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{SCRATCH}"')


_environment()
import django

django.setup()
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db.models import Count, Sum

from dashboards.services import summary_build_now, summary_mark_stale_for_reports, summary_rebuild
from incidents.models import Claim, Exchange, Incident, Report, ReportStatus
from registry.services import release_publish

TIERS = ("T0", "T1", "T2", "T3", "T4")
STATUSES = ("needs_review", "verified", "rejected", "partially_verified")
ENDPOINTS = (("dashboard page", "/incidents/bench/"), ("stats API", "/api/v1/incidents/bench/stats/"),
             ("filtered chart (CSV)", "/incidents/bench/charts/by-exchange.csv?release=1&min_tier=T2"))
ASSETS, START = ("ETH", "USDT", "USDC", "WBTC"), datetime(2022, 11, 15, tzinfo=UTC)


def build() -> Incident:
    """Store the incident, its exchanges, reports and claims in bulk, 5,000 reports at a time."""
    incident = Incident.objects.create(slug="bench", title="Bench incident", published=True,
                                       window_start=START - timedelta(days=30),
                                       window_end=START + timedelta(days=60))
    exchanges = [Exchange.objects.create(incident=incident, name=f"Exchange {n}") for n in range(12)]
    for first in range(0, ARGS.reports, 5000):
        reports = Report.objects.bulk_create(_report(incident, exchanges, n)
                                             for n in range(first, min(first + 5000, ARGS.reports)))
        Claim.objects.bulk_create(_claim(report, k) for report in reports for k in range(ARGS.claims))
    return incident


def _report(incident, exchanges, n: int) -> Report:
    return Report(incident=incident, exchange=exchanges[n % 12], tier=TIERS[n % 5], status=STATUSES[n % 4],
                  claimed_loss_usd=Decimal(1000 + n % 700), verified_loss_usd=Decimal(n % 900),
                  submitted_at=START, police_report="ref" if n % 3 == 0 else "")


def _claim(report: Report, k: int) -> Claim:
    n = report.pk
    return Claim(report=report, chain="eip155:1", tx_hash=f"0x{n:040x}{k:024x}", asset=ASSETS[(n + k) % 4],
                 amount=Decimal(1), status="verified" if k == 0 else "unchecked",
                 to_address=f"0x{n % 40:040x}", block_time=START + timedelta(days=n % 30),
                 usd_value=Decimal(n % 900) if k == 0 else None)


def live_sums(incident: Incident) -> None:
    """The baseline: the dashboard's headline and breakdowns with plain ORM aggregation, live."""
    reports = Report.objects.filter(incident=incident).exclude(status=ReportStatus.WITHDRAWN)
    reports.aggregate(n=Count("id"), claimed=Sum("claimed_loss_usd"), verified=Sum("verified_loss_usd"))
    for key in ("exchange__name", "tier", "status"):
        sums = {"n": Count("id"), "c": Sum("claimed_loss_usd"), "v": Sum("verified_loss_usd")}
        list(reports.values(key).annotate(**sums))


def in_process(baseline: list[float]) -> None:
    """Each endpoint through Django's handler in this process, one client: like for like with the baseline."""
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    base50 = statistics.median(baseline)
    for name, path in ENDPOINTS:
        client.get(path)
        times = timed(lambda path=path: client.get(path), ARGS.seconds / 2)
        print(line(f"{name} (in process)", times, f"live ORM p50 / served p50 = "
                                                  f"{base50 / statistics.median(times):.1f}x"))


def timed(call, seconds: float) -> list[float]:
    times, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        began = time.perf_counter()
        call()
        times.append(time.perf_counter() - began)
    return times


class Server:
    def __init__(self):
        import socket

        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.port, fd = self.listener.getsockname()[1], self.listener.fileno()
        self.log = open(VAR_DIR / "gunicorn.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "config.wsgi",
                                         "--bind", f"fd://{fd}", "--workers", str(ARGS.workers)],
                                        cwd=ROOT, pass_fds=[fd], stdout=self.log, stderr=subprocess.STDOUT)

    def get(self, path: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            return response.status
        finally:
            connection.close()

    def wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.get("/api/v1/incidents/bench/stats/") == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        raise RuntimeError("gunicorn did not answer:\n" + (VAR_DIR / "gunicorn.log").read_text()[-2000:])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)
        self.log.close()


def load(server: Server, path: str) -> tuple[list[float], int, int]:
    """Closed-loop clients for ARGS.seconds; return latencies, errors and requests."""
    times, errors, lock = [], [0], threading.Lock()
    end = time.monotonic() + ARGS.seconds

    def client():
        while time.monotonic() < end:
            began = time.perf_counter()
            status = server.get(path)
            with lock:
                times.append(time.perf_counter() - began)
                errors[0] += status != 200

    threads = [threading.Thread(target=client) for _ in range(ARGS.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return times, errors[0], len(times)


def line(name: str, times: list[float], extra: str = "") -> str:
    cuts = statistics.quantiles(times, n=100) if len(times) > 1 else [times[0]] * 99
    return f"{name:<28} p50 {cuts[49] * 1000:8.1f} ms  p95 {cuts[94] * 1000:8.1f} ms  {extra}"


def main() -> None:
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    incident = build()
    print(f"built {ARGS.reports} reports, {ARGS.reports * ARGS.claims} claims "
          f"in {time.perf_counter() - began:.1f} s")
    began = time.perf_counter()
    release = release_publish(incident=incident)
    print(f"published release {release.number} (register files + stats) "
          f"in {time.perf_counter() - began:.1f} s")
    baseline = timed(lambda: live_sums(incident), ARGS.seconds)
    print(line("live ORM sums (baseline)", baseline, f"{len(baseline)} runs, one client, in process"))
    in_process(baseline)
    server = Server()
    try:
        server.wait_ready()
        results = {}
        for name, path in ENDPOINTS:
            server.get(path)  # warm the worker's cache entry, as a first reader would
            times, errors, count = load(server, path)
            results[name] = times
            target = f", target p95 < {TARGETS_MS[name]} ms" if name in TARGETS_MS else ""
            print(line(name, times, f"{count / ARGS.seconds:7.1f} req/s, {errors} errors, "
                                    f"{ARGS.clients} clients{target}"))
        base95 = statistics.quantiles(baseline, n=100)[94]
        for name, times in results.items():
            ratio = base95 / statistics.quantiles(times, n=100)[94]
            print(f"  {name}: p95 ratio live ORM / served = {ratio:.1f}x")
    finally:
        server.stop()
    preview(incident)


def preview(incident: Incident) -> None:
    """Time a decision's way to the preview: the notice, then the rebuild the task runs."""
    began = time.perf_counter()
    summary_build_now(incident=incident)
    print(f"first (full) build of the live summary: {time.perf_counter() - began:.2f} s")
    report = Report.objects.filter(incident=incident).first()
    began = time.perf_counter()
    Report.objects.filter(pk=report.pk).update(status="verified", decided_at=datetime.now(UTC))
    summary_mark_stale_for_reports(report_ids=[report.pk])
    marked = time.perf_counter()
    summary_rebuild(incident_id=incident.pk)
    done = time.perf_counter()
    print(f"decision to preview: mark stale {(marked - began) * 1000:.1f} ms, incremental rebuild "
          f"{done - marked:.2f} s (plus the task's pick-up by a worker); target under 1 s")


if __name__ == "__main__":
    try:
        main()
    finally:
        if ARGS.database_url:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(ARGS.database_url, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}"')
