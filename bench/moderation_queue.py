"""The moderator's queue and review page at scale, against the admin's changelist of the same reports.

Run: ``.venv/bin/python bench/moderation_queue.py [--reports 100000] [--requests 40]``
(with ``DATABASE_URL`` pointing at an empty scratch PostgreSQL database for the production case).

It files ``--reports`` reports (statuses, tiers, flags, amounts and exchanges mixed like a real
queue, one transfer claim each, a tenth of them contested), one report with 50 claims and 20
files, a moderator with a second factor and an admin, then requests each page ``--requests``
times through Django's test client (in process: no socket, so the figures are the server's work
and the client's small share) and prints p50/p95 and the SQL queries per request:

- the queue's first page, without filters (fraud flags first);
- the queue's first page with filters (a flag, a verified-loss floor, sorted by loss);
- the review page of the report with 50 claims and 20 files;
- baseline: the admin's changelist of the same reports (``/admin/incidents/report/``).

Queries are counted twice, at a tenth of the reports and at all of them: they must not grow
with the number of reports. Figures are printed, never asserted.
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

from _setup import bench_django

TEMP_VAR_DIR = bench_django(ALLOWED_HOSTS="testserver")

import argparse
import random
import shutil
import statistics
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import Role, User
from incidents.models import Claim, ClaimStatus, Evidence, Exchange, Incident, Report
from tests.factories import login_with_second_factor

START = datetime(2022, 11, 1, tzinfo=UTC)
FLAGS = [[], [], [], ["claim_exceeds_proof"], ["ticket_reused"], ["tx_not_found"], ["mail_forged"],
         ["tx_contested"]]
STATUSES = ["needs_review"] * 6 + ["needs_info", "verified", "rejected", "checking"]
TIERS = ["T0", "T1", "T1", "T2", "T2", "T3", "T4"]
BATCH = 5000


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


def measure(client: Client, url: str, requests: int) -> tuple[float, float, int]:
    """Return p50 and p95 in ms, and the queries of one request."""
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(times), statistics.quantiles(times, n=20)[18], len(queries)


def pages(report_id: int) -> dict[str, str]:
    return {"queue": "/moderation/",
            "queue, filtered": "/moderation/?flag=ticket_reused&verified_min=1000&sort=loss",
            "review (50 claims, 20 files)": f"/moderation/reports/{report_id}/",
            "baseline: admin changelist": "/admin/incidents/report/"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    if Report.objects.exists():
        raise SystemExit("point DATABASE_URL at an empty scratch database")
    incident = Incident.objects.create(slug="bench-queue", title="Queue bench", window_start=START,
                                       window_end=START + timedelta(days=60))
    exchanges = [Exchange.objects.create(incident=incident, name=f"Exchange {i}") for i in range(5)]
    report = big_report(incident, exchanges[0])
    moderator, admin = Client(), Client()
    login_with_second_factor(moderator, User.objects.create(username="mod", email="m@x.test",
                                                            role=Role.MODERATOR))
    login_with_second_factor(admin, User.objects.create(username="adm", email="a@x.test", is_staff=True,
                                                        is_superuser=True))
    tenth = args.reports // 10
    seed(incident, exchanges, tenth, 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    small = {name: measure(moderator if "admin" not in name else admin, url, 3)[2]
             for name, url in pages(report.pk).items()}
    seed(incident, exchanges, args.reports - tenth, tenth)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # what autovacuum does after a bulk load, before the queue is used
    print(f"{connection.vendor}, {Report.objects.count():,} reports, {args.requests} requests per page")
    print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'at 1/10':>8}")
    for name, url in pages(report.pk).items():
        p50, p95, queries = measure(moderator if "admin" not in name else admin, url, args.requests)
        print(f"{name:34} {p50:8.1f} {p95:8.1f} {queries:8} {small[name]:8}")


if __name__ == "__main__":
    try:
        main()
    finally:
        if TEMP_VAR_DIR:
            shutil.rmtree(TEMP_VAR_DIR, ignore_errors=True)
