"""Dashboard under load (wrk over HTTP), against live ORM sums; and a decision's way to the preview.

Run (PostgreSQL; a throw-away database is created beside ``--database-url`` and dropped at the end):

    .venv/bin/python bench/dashboard_load.py --database-url postgres://postgres@127.0.0.1:5432/postgres \\
        [--reports 100000] [--claims 10] [--connections 2,8] [--seconds 10] [--workers 3] \\
        [--redis redis://127.0.0.1:6379/6] [--decisions 5]

1. Builds one published incident with ``--reports`` reports (12 exchanges, 4 assets, 30 days, a fifth
   of them rows of an imported sheet) and ``--claims`` transfer claims each, with PostgreSQL's COPY.
2. Publishes a release (timed: the signed register in every format, and its stats) and builds the
   journalists' live summary for the first time (timed: a whole register's facts into ReportFact).
3. Starts gunicorn (production settings, ``--workers``) on a loopback port, serving the product and,
   beside it, the same numbers summed live with plain ORM aggregation (bench/dashboard_live_wsgi.py),
   and drives each with ``wrk`` (``--connections`` concurrent connections, 2 threads, ``--seconds``):
   the dashboard page, the stats API and one filtered chart (by exchange, T2 and above), then
   /_live/stats/ and /_live/chart/. p50/p95 come from wrk's latency histogram.
4. Starts one Celery worker on the scratch queue and takes ``--decisions`` decisions through the
   moderation service (claim, then decide); for each, it polls the preview page over HTTP as a
   signed-in journalist until the page carries a new version (ETag), then checks the preview API
   counts the decision. Prints the time from the decision's commit to that page.

Figures are printed, never asserted.
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _http import ROOT, Server, production_environment, wrk

TARGETS_MS = {"dashboard page": 150, "stats API": 50}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL server; a scratch database is used")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/6",
                        help="cache and broker, a Redis URL with its own db number")
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--claims", type=int, default=10, help="transfer claims per report (default 10)")
    parser.add_argument("--connections", type=lambda text: [int(n) for n in text.split(",")], default=[8],
                        help="concurrent wrk connections, or several runs' worth: 2,8 (default 8)")
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run (default 10)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--decisions", type=int, default=5, help="decisions timed to the preview (default 5)")
    parser.add_argument("--preview-only", action="store_true",
                        help="skip the release and the wrk runs: time only a decision's way to the preview")
    return parser.parse_args()


ARGS = parse_args()
VAR_DIR = Path(tempfile.mkdtemp(prefix="lossproof-bench-dash-"))
SCRATCH = f"lossproof_bench_dash_{os.getpid()}"
QUEUE = f"benchdash{os.getpid()}"


def _environment() -> None:
    production_environment(
        VAR_DIR, DATABASE_URL=urlunsplit(urlsplit(ARGS.database_url)._replace(path=f"/{SCRATCH}")),
        SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0", CELERY_BROKER_URL=ARGS.redis, CACHE_URL=ARGS.redis,
        CELERY_TASK_DEFAULT_QUEUE=QUEUE, EMAIL_HOST="127.0.0.1", EMAIL_PORT="1")


_environment()
import django

django.setup()
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts.models import Role, User
from dashboards.services import summary_build_now
from incidents.models import Claim, Exchange, Incident, Report
from incidents.refs import report_refs_assign
from moderation.selectors import report_version
from moderation.services import report_claim, report_decide
from registry.services import release_publish

TIERS = ("T0", "T1", "T2", "T3", "T4")
STATUSES = ("needs_review", "verified", "rejected", "partially_verified")
ASSETS, START = ("ETH", "USDT", "USDC", "WBTC"), datetime(2022, 11, 15, tzinfo=UTC)
SERVED = (("dashboard page", "/incidents/bench/"), ("stats API", "/api/v1/incidents/bench/stats/"),
          ("filtered chart (CSV)", "/incidents/bench/charts/by-exchange.csv?release=1&min_tier=T2"))
LIVE = (("live ORM: stats", "/_live/stats/"), ("live ORM: filtered chart", "/_live/chart/"))


# --- The world, with COPY --------------------------------------------------------------------


def copy_rows(model, fields: list[str], rows) -> None:
    """COPY ``rows`` (values for ``fields``, by attname) into the model's table; every other column
    gets the model's default, prepared once."""
    template = model()
    given = [model._meta.get_field(name) for name in fields]
    others = [f for f in model._meta.concrete_fields if not f.primary_key and f not in given]
    defaults = tuple(f.get_db_prep_save(f.pre_save(template, add=True), connection) for f in others)
    columns = ", ".join(f'"{f.column}"' for f in (*given, *others))
    with connection.cursor() as cursor, cursor.cursor.copy(
            f'COPY "{model._meta.db_table}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row((*row, *defaults))


def build() -> Incident:
    incident = Incident.objects.create(slug="bench", title="Bench incident", published=True,
                                       window_start=START - timedelta(days=30),
                                       window_end=START + timedelta(days=60))
    exchanges = [Exchange.objects.create(incident=incident, name=f"Exchange {n}").pk for n in range(12)]
    copy_rows(Report, ["incident", "exchange", "tier", "status", "claimed_loss_usd", "verified_loss_usd",
                       "submitted_at", "police_report", "support_ticket_id", "ticket_status", "source",
                       "source_file", "source_row"],
              ((incident.pk, exchanges[n % 12], TIERS[n % 5], STATUSES[n % 4], Decimal(1000 + n % 700),
                Decimal(n % 900), START, "ref" if n % 3 == 0 else "", f"T{n}" if n % 4 == 0 else "",
                ("dkim_verified", "attested", "denied", "none")[n % 7 % 4],
                "import" if n % 5 == 0 else "web", "victims.csv" if n % 5 == 0 else "",
                n if n % 5 == 0 else None) for n in range(ARGS.reports)))
    # COPY bypasses the model's save: give the reports their register pseudonym as storing them does.
    report_refs_assign(Report.objects.filter(incident=incident).only("pk", "report_ref"))
    ids = list(Report.objects.filter(incident=incident).order_by("pk").values_list("pk", flat=True))
    copy_rows(Claim, ["report", "chain", "tx_hash", "log_index", "asset", "amount", "status", "to_address",
                      "block_number", "block_time", "usd_value"],
              ((pk, "eip155:1", f"0x{pk:040x}{k:024x}", 0, ASSETS[(pk + k) % 4], Decimal(1),
                "verified" if k == 0 else "unchecked", f"0x{pk % 40:040x}", 15_000_000 + pk,
                START + timedelta(days=pk % 30), Decimal(pk % 900) if k == 0 else None)
               for pk in ids for k in range(ARGS.claims)))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return incident


# --- HTTP --------------------------------------------------------------------------------------


def loads(server: Server, connections: int) -> None:
    print(f"wrk, {connections} connections, {ARGS.seconds} s each:")
    results = {}
    for name, path in (*SERVED, *LIVE):
        server.get(path)  # warm the worker's cache entry, as a first reader would
        run = wrk(f"http://127.0.0.1:{server.port}{path}", connections=connections, seconds=ARGS.seconds,
                  threads=min(2, connections))
        results[name] = run.p95
        target = f", target p95 < {TARGETS_MS[name]} ms" if name in TARGETS_MS else ""
        print(f"{name:<26} p50 {run.p50:8.1f} ms  p95 {run.p95:8.1f} ms  {run.requests / ARGS.seconds:7.1f} "
              f"req/s, {run.errors} errors{target}", flush=True)
    for served, live in (("dashboard page", "live ORM: stats"), ("stats API", "live ORM: stats"),
                         ("filtered chart (CSV)", "live ORM: filtered chart")):
        print(f"  p95 {live} / {served} = {results[live] / results[served]:.1f}x")


# --- A decision's way to the journalists' preview ------------------------------------------------


class Worker:
    def __init__(self):
        from config.queues import queue_names

        self.log = open(VAR_DIR / "worker.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING",
             "--concurrency=1", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-Q", ",".join(queue_names(QUEUE)), "-n", f"{QUEUE}@%h"],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=60)
        self.log.close()


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())


def preview(server: Server, incident: Incident) -> None:
    moderator = User.objects.create(username="bench-mod", email="mod@bench.invalid", role=Role.MODERATOR)
    journalist = User.objects.create(username="bench-journo", email="j@bench.invalid", role=Role.JOURNALIST)
    cookie = session_cookie(journalist)
    page, api = "/incidents/bench/?preview=1", "/api/v1/incidents/bench/stats/?preview=1"
    status, headers, _ = server.get(page, cookie)
    if status != 200:
        raise RuntimeError(f"the preview page answered {status}")
    worker = Worker()
    try:
        time.sleep(8)  # the worker's start, outside the timings
        import json

        chosen = Report.objects.filter(incident=incident, status="needs_review", verified_loss_usd__lt=5000,
                                       ).order_by("pk").values_list("pk", flat=True)[:ARGS.decisions]
        waits = []
        for report_id in chosen:
            before = json.loads(server.get(api, cookie)[2])["by_status"]["rejected"]
            etag = server.get(page, cookie)[1].get("ETag")
            report_claim(report_id=report_id, moderator=moderator)
            version = report_version(report_id=report_id)
            report_decide(report_id=report_id, moderator=moderator, status="rejected",
                          reason="evidence_insufficient", note="bench decision", version=version)
            committed = time.perf_counter()  # report_decide's transaction has committed when it returns
            while time.perf_counter() - committed < 120:
                status, headers, _ = server.get(page, cookie)
                if headers.get("ETag") != etag:
                    break
                time.sleep(0.01)
            shown = time.perf_counter() - committed
            after = json.loads(server.get(api, cookie)[2])["by_status"]["rejected"]
            waits.append(shown)
            print(f"decision on report {report_id}: preview page changed {shown * 1000:.0f} ms after the "
                  f"commit; preview API rejected {before} -> {after}", flush=True)
        print(f"decision commit -> preview page (HTTP, one worker): median "
              f"{statistics.median(waits) * 1000:.0f} ms, max {max(waits) * 1000:.0f} ms over {len(waits)}; "
              f"target under 1 s")
    finally:
        worker.stop()
    breakdown(incident, moderator)


def breakdown(incident: Incident, moderator) -> None:
    """One more decision, its rebuild's steps timed in this process (no worker): where the time goes."""
    from dashboards.models import IncidentSummary
    from dashboards.services import facts_store, incident_fingerprint, summary_rebuild
    from dashboards.sums import sql_stats

    report_id = Report.objects.filter(incident=incident, status="needs_review", verified_loss_usd__lt=5000
                                      ).order_by("-pk").values_list("pk", flat=True).first()
    report_claim(report_id=report_id, moderator=moderator)
    report_decide(report_id=report_id, moderator=moderator, status="rejected", reason="evidence_insufficient",
                  note="bench decision", version=report_version(report_id=report_id))
    steps = {
        "register of the one report -> its fact rows": lambda: facts_store(incident=incident,
                                                                           report_ids=[report_id]),
        "SQL sums (dashboards.sums)": lambda: sql_stats(incident_id=incident.pk, as_of=None, release=None),
        "sweep fingerprint (after the commit)": lambda: incident_fingerprint(incident=incident)}
    for name, step in steps.items():
        began = time.perf_counter()
        step()
        steps[name] = time.perf_counter() - began
    IncidentSummary.objects.filter(incident=incident).update(stale=True)
    began = time.perf_counter()
    summary_rebuild(incident_id=incident.pk)
    whole = time.perf_counter() - began
    print("in process, one decision's rebuild: "
          + ", ".join(f"{name} {spent * 1000:.0f} ms" for name, spent in steps.items())
          + f"; whole summary_rebuild {whole * 1000:.0f} ms (fingerprint included)")


def main() -> None:
    uptime = Path("/proc/loadavg").read_text().split()[:3]
    print(f"load average at start: {' '.join(uptime)} ({os.cpu_count()} cores)")
    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    incident = build()
    print(f"built {ARGS.reports} reports, {ARGS.reports * ARGS.claims} claims (COPY) "
          f"in {time.perf_counter() - began:.1f} s", flush=True)
    if not ARGS.preview_only:
        began = time.perf_counter()
        release = release_publish(incident=incident)
        print(f"published release {release.number} (signed register in every format + stats) "
              f"in {time.perf_counter() - began:.1f} s", flush=True)
    began = time.perf_counter()
    summary_build_now(incident=incident)
    print(f"first (full) build of the live summary: {time.perf_counter() - began:.1f} s", flush=True)
    server = Server(VAR_DIR / "gunicorn.log", workers=ARGS.workers, app="dashboard_live_wsgi:application",
                    pythonpath=ROOT / "bench")
    try:
        server.wait_ready("/api/v1/incidents/bench/stats/")
        if not ARGS.preview_only:
            for connections in ARGS.connections:
                loads(server, connections)
        preview(server, incident)
    finally:
        server.stop()
    print(f"load average at end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}")


if __name__ == "__main__":
    import psycopg

    with psycopg.connect(ARGS.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{SCRATCH}"')
    try:
        main()
    finally:
        connection.close()
        with psycopg.connect(ARGS.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{SCRATCH}" WITH (FORCE)')
        shutil.rmtree(VAR_DIR, ignore_errors=True)
