"""The moderator's queue and review page over HTTP, against the admin's changelist of the same reports.

Run: ``DATABASE_URL=postgres://…/scratch .venv/bin/python bench/moderation_queue.py [--reports 100000]
[--seconds 10] [--connections 2] [--workers 2] [--repeat 3]`` with ``DATABASE_URL`` naming an empty
scratch PostgreSQL database (without it: a temporary SQLite file). A database this benchmark
filled before, with the same ``--reports``, is reused as it is.

It files ``--reports`` reports (statuses, tiers, flags, amounts and exchanges mixed like a real
queue, one transfer claim each, a tenth of them contested), one report with 50 claims and 20
files, a moderator and an admin who both signed in with a second factor; it stores the queue's
columns (open fraud flags, contested) with ``reports_queue_state_refresh``, the backfill the
migration runs, and times it. Then:

- queries per request, through Django's test client in this process, at a tenth of the reports
  and at all of them: they must not grow with the number of reports;
- the first queue view after a moderator's action, in this process: the view's counts are
  recounted then (a cache miss), and this is its cost;
- over HTTP: gunicorn (production settings, ``--workers`` sync workers) on a loopback port, and
  ``wrk`` (``--connections`` closed-loop connections, ``--seconds`` each, after 2 s of unmeasured
  warm-up per page) with the moderator's or the admin's session cookie, on each page in turn,
  ``--repeat`` times:

  - the queue's first page, without filters (fraud flags first);
  - the queue's first page with filters (a flag, a verified-loss floor, sorted by loss);
  - the review page of the report with 50 claims and 20 files;
  - baseline: the admin's changelist of the same reports (``/admin/incidents/report/``).

It prints p50/p95 per run, the machine's load, the median p95 over the runs and the same-run
ratio of each page's p95 to the baseline's, and the CPU each request cost gunicorn's workers and
the database's backends (read from /proc): on a shared machine the latencies grow with what else
runs, the CPU per request hardly does. Target: p95 under 150 ms. Figures are printed, never
asserted.
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from _http import Server, cpu_seconds, cpu_used, database_pids, production_environment, wrk

TARGET_MS = 150


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=2, help="wrk connections (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per page, interleaved (default 3)")
    return parser.parse_args()


ARGS = parse_args()
VAR_DIR = Path(tempfile.mkdtemp(prefix="lossproof-bench-queue-"))


def _environment() -> None:
    """Production settings for this process and gunicorn, which inherits them."""
    production_environment(VAR_DIR, EMAIL_HOST="smtp.invalid",
                           CELERY_BROKER_URL=f"filesystem://{VAR_DIR / 'broker'}")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{VAR_DIR / 'bench.sqlite3'}")


_environment()
import django

django.setup()
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from incidents.models import Claim, ClaimStatus, Evidence, Exchange, Incident, Report
from incidents.queue_state import reports_queue_state_refresh
from moderation.selectors import queue_changed
from tests.factories import login_with_second_factor

START = datetime(2022, 11, 1, tzinfo=UTC)
FLAGS = [[], [], [], ["claim_exceeds_proof"], ["ticket_reused"], ["tx_not_found"], ["mail_forged"],
         ["tx_contested"]]
STATUSES = ["needs_review"] * 6 + ["needs_info", "verified", "rejected", "checking"]
TIERS = ["T0", "T1", "T1", "T2", "T2", "T3", "T4"]
BATCH = 5000
SLUG = "bench-queue"


def seed(incident: Incident, exchanges: list[Exchange], count: int, offset: int) -> None:
    """Add ``count`` reports with one transfer claim each."""
    rng = random.Random(offset)
    for start in range(0, count, BATCH):
        reports = [Report(incident=incident, exchange=rng.choice(exchanges), status=rng.choice(STATUSES),
                          tier=rng.choice(TIERS), flags=rng.choice(FLAGS),
                          claimed_loss_usd=Decimal(rng.randint(10, 90_000)),
                          verified_loss_usd=Decimal(rng.randint(0, 60_000)),
                          submitted_at=START + timedelta(minutes=offset + start + i))
                   for i in range(min(BATCH, count - start))]
        Report.objects.bulk_create(reports, batch_size=1000)
        claims = [Claim(report=r, chain="eip155:1", tx_hash="0x" + f"{offset + start + i:064x}",
                        status=ClaimStatus.CONTESTED if i % 10 == 0 else ClaimStatus.VERIFIED,
                        usd_value=r.verified_loss_usd) for i, r in enumerate(reports)]
        Claim.objects.bulk_create(claims, batch_size=1000)


def big_report(incident: Incident, exchange: Exchange) -> Report:
    report = Report.objects.create(incident=incident, exchange=exchange, status="needs_review",
                                   verified_loss_usd=Decimal("80000"), submitted_at=START)
    Claim.objects.bulk_create(Claim(report=report, chain="eip155:1", tx_hash="0x" + f"{10**12 + i:064x}",
                                    status=ClaimStatus.VERIFIED, usd_value=Decimal("1600"))
                              for i in range(50))
    Evidence.objects.bulk_create(Evidence(report=report, kind="other", sha256=f"{i:064x}", size=100,
                                          detected_type="application/pdf", original_name=f"file{i}.pdf",
                                          file=f"bench/{i}") for i in range(20))
    return report


def analyze() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load, before the queue is used


def backfill() -> None:
    began = time.perf_counter()
    changed = reports_queue_state_refresh()
    print(f"queue columns backfilled: {changed:,} reports changed in {time.perf_counter() - began:.1f} s")


def pages(report_id: int) -> dict[str, str]:
    return {"queue": "/moderation/",
            "queue, filtered": "/moderation/?flag=ticket_reused&verified_min=1000&sort=loss",
            # As a moderator opens it from the queue: with the queue's view, for j and k.
            "review (50 claims, 20 files)": f"/moderation/reports/{report_id}/?q=page%3D1",
            "baseline: admin changelist": "/admin/incidents/report/"}


def signed_in(user: User) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    login_with_second_factor(client, user)
    return client


def queries(clients: dict[str, Client], report_id: int) -> dict[str, int]:
    """Return the SQL queries of one request of each page (after one request to warm up)."""
    counted = {}
    for name, url in pages(report_id).items():
        client = clients["admin" if "admin" in name else "moderator"]
        assert client.get(url).status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        counted[name] = len(captured)
    return counted


def build() -> tuple[Report, dict[str, Client], dict[str, int]]:
    """Fill the database (or find it filled by an earlier run); return the big report, clients, queries."""
    call_command("migrate", verbosity=0)
    incident = Incident.objects.filter(slug=SLUG).first()
    moderator, admin = (User.objects.filter(username=name).first() for name in ("mod", "adm"))
    if incident is not None and Report.objects.count() == ARGS.reports + 1:
        print(f"reusing the {ARGS.reports:,} reports an earlier run filed")
        report = Report.objects.filter(incident=incident, claims__isnull=False).order_by("pk").first()
        clients = {"moderator": signed_in(moderator), "admin": signed_in(admin)}
        return report, clients, {}
    if Report.objects.exists():
        raise SystemExit("point DATABASE_URL at an empty scratch database")
    incident = Incident.objects.create(slug=SLUG, title="Queue bench", window_start=START,
                                       window_end=START + timedelta(days=60))
    exchanges = [Exchange.objects.create(incident=incident, name=f"Exchange {i}") for i in range(5)]
    report = big_report(incident, exchanges[0])
    moderator = User.objects.create(username="mod", email="m@x.test", role=Role.MODERATOR)
    admin = User.objects.create(username="adm", email="a@x.test", is_staff=True, is_superuser=True)
    clients = {"moderator": signed_in(moderator), "admin": signed_in(admin)}
    tenth = ARGS.reports // 10
    seed(incident, exchanges, tenth, 0)
    reports_queue_state_refresh()
    analyze()
    small = queries(clients, report.pk)
    seed(incident, exchanges, ARGS.reports - tenth, tenth)
    Report.objects.update(open_fraud_flags=0, contested=False)  # as before the migration
    backfill()
    analyze()
    return report, clients, small


def recount_cost(client: Client) -> list[float]:
    """Time the queue's first page when its counts were retired by a moderator's action (a cache miss)."""
    times = []
    for _ in range(5):
        queue_changed()
        began = time.perf_counter()
        assert client.get("/moderation/").status_code == 200
        times.append((time.perf_counter() - began) * 1000)
    return times


def warm_up(server: Server, urls: dict[str, str], cookies: dict[str, str]) -> None:
    """Request every page through each connection first: a worker's first requests load its code,
    compile its templates and open its database connection, which no later request pays."""
    for name, url in urls.items():
        cookie = cookies["admin" if "admin" in name else "moderator"]
        wrk(f"http://127.0.0.1:{server.port}{url}", connections=ARGS.connections, seconds=2, cookie=cookie)


def measured(server: Server, path: str, cookie: str) -> dict:
    """Run wrk on one page; return requests, errors, p50/p95/p99 in ms and CPU ms per request.

    The CPU a request costs (gunicorn's workers and the database's backends) does not depend on
    what else the machine runs, unlike the latencies: on a shared machine it is the steadier figure.
    """
    web, db = server.pids(), database_pids()
    web_before, db_before = cpu_seconds(web), cpu_seconds(db)
    run = wrk(f"http://127.0.0.1:{server.port}{path}", connections=ARGS.connections, seconds=ARGS.seconds,
              cookie=cookie)
    web_cpu, db_cpu = cpu_used(web_before, cpu_seconds(web)), cpu_used(db_before, cpu_seconds(db))
    return {"requests": run.requests, "errors": run.errors, "p50": run.p50, "p95": run.p95, "p99": run.p99,
            "web_cpu": 1000 * web_cpu / max(run.requests, 1), "db_cpu": 1000 * db_cpu / max(run.requests, 1)}


def cookie_of(client: Client) -> str:
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def main() -> None:
    report, clients, small = build()
    large = queries(clients, report.pk)
    print(f"{connection.vendor}, {Report.objects.count():,} reports, {os.cpu_count()} cores")
    print(f"{'queries per request':34} {'all':>6} {'at 1/10':>8}")
    for name, count in large.items():
        print(f"{name:34} {count:6} {small.get(name, '-'):>8}")
    cold = recount_cost(clients["moderator"])
    print(f"queue after a moderator's action (counts recounted, in process): "
          f"p50 {statistics.median(cold):.1f} ms, max {max(cold):.1f} ms")
    cookies = {"moderator": cookie_of(clients["moderator"]), "admin": cookie_of(clients["admin"])}
    server = Server(VAR_DIR / "gunicorn.log", workers=ARGS.workers)
    results: dict[str, list[dict]] = {name: [] for name in pages(report.pk)}
    try:
        server.wait_ready("/moderation/", cookies["moderator"])
        warm_up(server, pages(report.pk), cookies)
        print(f"wrk: {ARGS.connections} connections, {ARGS.seconds} s per run; "
              f"gunicorn: {ARGS.workers} workers")
        for run in range(1, ARGS.repeat + 1):
            load = os.getloadavg()[0]
            for name, url in pages(report.pk).items():
                cookie = cookies["admin" if "admin" in name else "moderator"]
                status = server.get(url, cookie)[0]  # signed in, not sent to a sign-in page
                assert status == 200, (url, status)
                result = measured(server, url, cookie)
                results[name].append(result)
                print(f"run {run} {name:30} p50 {result['p50']:7.1f} ms  p95 {result['p95']:7.1f} ms  "
                      f"p99 {result['p99']:7.1f} ms  {result['requests'] / ARGS.seconds:5.1f} req/s  "
                      f"{result['errors']} errors  cpu/request: web {result['web_cpu']:5.1f} ms, "
                      f"db {result['db_cpu']:4.1f} ms  (load {load:.2f})")
    finally:
        server.stop()
    summary(results)


def summary(results: dict[str, list[dict]]) -> None:
    base = [r["p95"] for r in results["baseline: admin changelist"]]
    print(f"\nmedian over {ARGS.repeat} runs; ratio = baseline p95 / page p95, run by run (same run)")
    for name, runs in results.items():
        p95 = statistics.median(r["p95"] for r in runs)
        ratios = ", ".join(f"{b / r['p95']:.1f}x" for b, r in zip(base, runs, strict=True))
        verdict = "" if "admin" in name else (" (target met)" if p95 < TARGET_MS else " (target missed)")
        cpu = statistics.median(r["web_cpu"] + r["db_cpu"] for r in runs)
        print(f"{name:34} p50 {statistics.median(r['p50'] for r in runs):7.1f} ms  p95 {p95:7.1f} ms"
              f"{verdict}  ratio {ratios}  cpu/request {cpu:.1f} ms")


if __name__ == "__main__":
    try:
        main()
    finally:
        shutil.rmtree(VAR_DIR, ignore_errors=True)
