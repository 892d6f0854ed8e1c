"""Register export at scale: the streaming writers against a naive export, on the same claims.

Run: ``.venv/bin/python bench/register_scale.py [--claims 1000000] [--per-report 10] [--sample 100000]``

It files one incident with ``--claims`` transfer claims (``--per-report`` per report, statuses,
flags, mails and a liaison-free ticket mix like a real register) and a second, ``--sample``-sized
incident built the same way, then measures, each phase in a child process of its own so that
``ru_maxrss`` is that phase's peak:

- the register's streaming writers (``registry.exports.register_write``): CSV alone, XLSX alone
  (XlsxWriter constant-memory mode), ODS alone (streamed zip), and a whole signed draft release
  (``registry.services.register_export``: every format, changelog, manifest, signature);
- the import of a ``--import-rows`` crowdsourced sheet (100,000 by default, the most a sheet may
  hold) through ``manage.py import_reports``, once as CSV and once as XLSX, each into an
  incident of its own;
- the database's size once everything is in it, and per 100,000 reports;
- publication (``registry.services.release_publish``: the draft's work plus the release rows and
  storing every file), into a local release folder and, with ``--s3``, into an S3 bucket served
  by a moto server on loopback (or ``--s3-endpoint URL`` for a real S3-compatible service);
- Python-level peaks (tracemalloc, in separate runs because tracing slows Python down);
- baseline, on the sample incident only: claims loaded as model instances (``select_related``,
  no ``iterator``) and written with ``csv.writer``, against the streaming CSV writer on the same
  sample.

Without DATABASE_URL it works in a fresh SQLite database under a temporary LOSSPROOF_VAR_DIR,
removed at the end. With DATABASE_URL, point it at an empty scratch database (it refuses one that
holds reports, and leaves its incidents behind).
Figures are printed, never asserted (bench/README.md).
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

import base64
import time

from _setup import bench_django, bench_run
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey


def _signing_key() -> str:
    """Return a throw-away Ed25519 key, so that the benchmark never touches a real one."""
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    return base64.b64encode(raw).decode()


# Its own queue name: the verification an import queues must not land on a real deployment's queue.
TEMP_VAR_DIR = bench_django(EXPORT_SIGNING_KEY=_signing_key(),
                            CELERY_TASK_DEFAULT_QUEUE=f"bench-register-{time.time_ns()}")

import argparse
import contextlib
import csv
import multiprocessing
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import tracemalloc
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import chain, islice
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections

from incidents.models import Claim, Evidence, Exchange, Incident, Report
from registry.exports import CLAIM_HEADER, CsvSink, claim_rows, neutralise, register_write
from registry.services import register_export, release_publish
from verification.models import CheckResult

START = datetime(2022, 11, 1, tzinfo=UTC)
BATCH = 10_000
STATUSES = ["verified"] * 6 + ["mismatch", "not_found", "duplicate", "unconfirmed"]
REASONS = {"mismatch": ["amount_mismatch"], "duplicate": ["claimed_elsewhere"],
           "unconfirmed": ["unconfirmed"]}
TIERS = ["T0", "T1", "T2", "T2", "T3", "T4"]
REPORT_STATUSES = ["needs_review", "verified", "partially_verified", "rejected", "submitted"]


# --- the data ----------------------------------------------------------------------------------


def make_incident(slug: str, claims: int, per_report: int) -> int:
    """File an incident whose register has ``claims`` claim rows, plus withdrawn reports it must skip."""
    incident = Incident.objects.create(slug=slug, title=f"Register bench {slug}", published=True,
                                       window_start=START, window_end=START + timedelta(days=60))
    exchange = Exchange.objects.create(incident=incident, name="Binance", support_domains=["binance.com"])
    active = -(-claims // per_report)
    for first in range(0, active + active // 50, BATCH):  # one withdrawn report per fifty on top
        Report.objects.bulk_create(new_report(incident, exchange, n, withdrawn=n >= active)
                                   for n in range(first, min(first + BATCH, active + active // 50)))
    ids = list(Report.objects.filter(incident=incident).order_by("id").values_list("id", flat=True))
    listed = islice((new_claim(rid, n) for rid in ids[:active] for n in range(per_report)), claims)
    rows = chain(listed, (new_claim(rid, n) for rid in ids[active:] for n in range(per_report)))
    while batch := list(islice(rows, BATCH)):
        Claim.objects.bulk_create(batch)
    add_mails(ids[::10])
    return incident.pk


def new_report(incident: Incident, exchange: Exchange, n: int, withdrawn: bool) -> Report:
    """One report; every seventh comes from an imported sheet row."""
    imported = n % 7 == 0
    return Report(incident=incident, exchange=exchange, tier=TIERS[n % 6],
                  status="withdrawn" if withdrawn else REPORT_STATUSES[n % 5],
                  flags=["claim_exceeds_proof"] if n % 9 == 0 else [],
                  claimed_loss_usd=Decimal(1000 + n % 5000), verified_loss_usd=Decimal(n % 3000) / 4,
                  source="import" if imported else "web", source_file="victims.csv" if imported else "",
                  source_row=n if imported else None, submitted_at=START + timedelta(seconds=n),
                  decided_at=START + timedelta(days=1, seconds=n) if n % 5 in (1, 2, 3) else None)


def new_claim(report_id: int, n: int) -> Claim:
    """One transfer claim with a status mix like a real register's."""
    status = STATUSES[(report_id + n) % len(STATUSES)]
    found = status != "not_found"
    return Claim(report_id=report_id, chain="eip155:1", tx_hash=f"0x{report_id:032x}{n:032x}", log_index=n,
                 asset="USDT" if n % 2 else "ETH", amount=Decimal("1.5") + n, status=status,
                 from_address=f"0x{report_id:040x}", to_address="0x" + "ab" * 20,
                 reasons=REASONS.get(status, []), block_number=16_000_000 + report_id if found else None,
                 block_time=START + timedelta(minutes=report_id) if found else None,
                 usd_value=Decimal("1234.56") if status == "verified" else None)


def add_mails(report_ids: list[int]) -> None:
    """Give every tenth report a support mail and its DKIM result, so ticket statuses are real reads."""
    for first in range(0, len(report_ids), BATCH):
        chunk = report_ids[first:first + BATCH]
        Evidence.objects.bulk_create(Evidence(report_id=rid, kind="support_email", file=f"{rid}/{rid:064x}",
                                              sha256=f"{rid:064x}", size=1000) for rid in chunk)
        evidence = Evidence.objects.filter(report_id__in=chunk).values_list("id", "report_id")
        CheckResult.objects.bulk_create(
            CheckResult(report_id=rid, evidence_id=eid, check_name="dkim_signature", outcome="pass",
                        raw={"ticket_status": "dkim_verified"}, started_at=START, finished_at=START)
            for eid, rid in evidence)


# --- the phases (each runs in a child process of its own) --------------------------------------


@dataclass
class Phase:
    seconds: float
    rss_mb: float  # the child's peak resident set (ru_maxrss), Django and the interpreter included
    traced_mb: float | None  # tracemalloc's peak of Python allocations, when traced
    rows: int
    sizes: dict
    cpu: float = 0.0  # the child's own CPU seconds (user + system) for the work: load-independent


def in_child(function, *args):
    """Run ``function(*args)`` in a fresh forked process: its ru_maxrss is its own, its garbage goes."""
    connections.close_all()  # a forked child must open its own database connection
    with multiprocessing.get_context("fork").Pool(1) as pool:
        return pool.apply(function, args)


def measured(work, traced: bool) -> Phase:
    """Time ``work(folder)`` (returns a row count) in a scratch folder; record memory peaks."""
    folder = Path(tempfile.mkdtemp(prefix="export-", dir=settings.VAR_DIR))
    if traced:
        tracemalloc.start()
    started, cpu_before = time.perf_counter(), time.process_time()
    rows = work(folder)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_before
    traced_mb = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
    sizes = {path.name: path.stat().st_size for path in folder.iterdir()}
    shutil.rmtree(folder)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Phase(seconds, rss_mb, traced_mb, rows, sizes, cpu)


def writers(incident_id: int, formats: tuple[str, ...], traced: bool) -> Phase:
    """Stream the incident's register in ``formats`` (registry.exports.register_write)."""
    incident = Incident.objects.get(pk=incident_id)
    now = datetime.now(UTC)
    return measured(lambda folder: register_write(incident=incident, folder=folder, created_at=now,
                                                  formats=formats)["claims"], traced)


def release(incident_id: int, traced: bool) -> Phase:
    """Write a whole signed draft release (what ``export_register --out`` does)."""
    incident = Incident.objects.get(pk=incident_id)

    def work(folder: Path) -> int:
        return register_export(incident=incident, folder=folder / "release")["counts"]["claims"]

    return measured(work, traced)


def published(incident_id: int, traced: bool) -> Phase:
    """Publish the next release into the configured release storage (folder or bucket)."""
    incident = Incident.objects.get(pk=incident_id)
    return measured(lambda folder: release_publish(incident=incident).claim_count, traced)


def release_storage_use(target: str, endpoint: str | None) -> None:
    """Point release storage at a fresh local folder, or at a bucket on ``endpoint``."""
    from django.core.files.storage import FileSystemStorage, storages

    if target == "folder":
        folder = Path(tempfile.mkdtemp(prefix="releases-", dir=settings.VAR_DIR))
        storages._storages["releases"] = FileSystemStorage(location=folder)
        return
    from storages.backends.s3 import S3Storage

    from config.storage import s3_options

    # A moto server takes any key pair; a real endpoint gets the AWS_* variables (boto3's chain).
    key_id = os.environ.get("AWS_ACCESS_KEY_ID", "bench")
    key = os.environ.get("AWS_SECRET_ACCESS_KEY", "bench")
    options = s3_options(bucket="lossproof-bench", endpoint=endpoint, region="us-east-1", access_key=key_id,
                         secret_key=key, prefix=f"bench-{time.time_ns()}", encryption="AES256", kms_key_id="",
                         addressing="path", timeout=5.0)
    storage = S3Storage(**{**options, "location": f"{options['location']}/releases"})
    client = storage.connection.meta.client
    if "lossproof-bench" not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket="lossproof-bench")
    storages._storages["releases"] = storage


@contextmanager
def s3_endpoint(args: argparse.Namespace):
    """Yield the S3 endpoint to publish to: --s3-endpoint, a moto server of our own, or None."""
    if args.s3_endpoint or not args.s3:
        yield args.s3_endpoint
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


SHEET_HEADER = ["reporter", "contact_email", "exchange", "claimed_loss_usd", "loss_date", "chain",
                "victim_address", "tx_hashes", "support_ticket_id", "evidence_files", "police_report",
                "notes"]


def sheet_rows(count: int):
    """Distinct, valid crowdsourced rows: each its own victim, address and transfer."""
    for n in range(count):
        yield [f"Victim {n}", f"victim{n}@example.org", "Binance", f"{1000 + n % 5000}.50", "2022-11-15",
               "eip155:1", f"0x{n + 1:040x}", f"0x{n + 1:064x}", f"{10_000_000 + n}", "", "", ""]


def sheet_write(folder: Path, count: int) -> tuple[Path, Path]:
    """Write the same sheet as CSV and as XLSX (openpyxl's streaming writer)."""
    from openpyxl import Workbook

    csv_path, xlsx_path = folder / "victims.csv", folder / "victims.xlsx"
    with open(csv_path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(SHEET_HEADER)
        writer.writerows(sheet_rows(count))
    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(SHEET_HEADER)
    for cells in sheet_rows(count):
        sheet.append(cells)
    book.save(xlsx_path)
    return csv_path, xlsx_path


def sheet_import(path: str, slug: str) -> Phase:
    """Create an empty incident and import the sheet into it with `import_reports`."""
    from incidents.models import IncidentChain

    incident = Incident.objects.create(slug=slug, title=f"Import bench {slug}", published=False,
                                       window_start=START, window_end=START + timedelta(days=60))
    IncidentChain.objects.create(incident=incident, caip2="eip155:1", confirmations=12)
    Exchange.objects.create(incident=incident, name="Binance", support_domains=["binance.com"])

    def work(folder: Path) -> int:
        call_command("import_reports", path, "--incident", slug, verbosity=0)
        return Report.objects.filter(incident=incident).count()

    return measured(work, False)


def database_megabytes() -> float:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return cursor.fetchone()[0] / 2**20
    return Path(settings.DATABASES["default"]["NAME"]).stat().st_size / 2**20


def queue_purge() -> None:
    """Drop what the imports queued for verification (no worker runs in the benchmark)."""
    from config.celery import app
    from config.queues import queue_names

    with app.connection_for_write() as conn:
        for name in queue_names(settings.CELERY_TASK_DEFAULT_QUEUE):
            conn.default_channel.queue_declare(queue=name)
            conn.default_channel.queue_purge(name)


def print_imports(rows: int, phases: dict[str, Phase]) -> None:
    print(f"\nsheet import (manage.py import_reports), {rows:,} rows, each format into its own incident:")
    for name, phase in phases.items():
        print(f"  {name:5s} {phase.seconds:7.1f} s  {phase.rows / phase.seconds:>9,.0f} rows/s"
              f"  peak RSS {phase.rss_mb:6.0f} MB   target < 60 s: "
              f"{'met' if phase.seconds < 60 else 'NOT met'}; the import's own CPU {phase.cpu:.1f} s "
              f"({phase.rows / max(phase.cpu, 1e-9):,.0f} rows per CPU second; the rest is the database "
              f"and the machine's load, {os.getloadavg()[0]:.1f} now)")


def print_size() -> None:
    reports, claims = Report.objects.count(), Claim.objects.count()
    size = database_megabytes()
    print(f"\ndatabase ({connection.vendor}): {size:,.0f} MB for {reports:,} reports and {claims:,} claims "
          f"(with check results and release rows): about {size * 100_000 / max(reports, 1):,.0f} MB "
          "per 100,000 reports of this shape")


def streaming_claims(incident_id: int, traced: bool) -> Phase:
    """Write claims.csv alone with the register's streaming path (values_list + iterator)."""
    incident = Incident.objects.get(pk=incident_id)

    def work(folder: Path) -> int:
        sink, count = CsvSink(folder), 0
        sink.table("claims", CLAIM_HEADER)
        for row in claim_rows(incident=incident):
            sink.row([neutralise(cell) if isinstance(cell, str) else cell for cell in row])
            count += 1
        sink.close()
        return count

    return measured(work, traced)


def naive_claims(incident_id: int, traced: bool) -> Phase:
    """Baseline: load every claim as a model instance with its report, then write claims.csv."""
    def work(folder: Path) -> int:
        claims = list(Claim.objects.filter(report__incident_id=incident_id)
                      .exclude(report__status="withdrawn").select_related("report")
                      .order_by("report_id", "id"))
        with open(folder / "claims.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(CLAIM_HEADER)
            for c in claims:
                writer.writerow([c.report.report_ref, c.kind, c.chain, c.tx_hash, c.log_index, c.asset,
                                 c.amount, c.from_address, c.to_address, c.block_number, c.block_time,
                                 c.usd_value, c.status, ";".join(c.reasons)])
        return len(claims)

    return measured(work, traced)


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    bench_run(run, parse_args(), TEMP_VAR_DIR)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1_000_000,
                        help="claims of the big incident (default 1,000,000)")
    parser.add_argument("--per-report", type=int, default=10, help="claims per report (default 10)")
    parser.add_argument("--sample", type=int, default=100_000,
                        help="claims of the sample incident the naive baseline runs on (default 100,000)")
    parser.add_argument("--no-trace", action="store_true", help="skip the tracemalloc runs (slow)")
    parser.add_argument("--import-rows", type=int, default=100_000,
                        help="rows of the crowdsourced sheet imported as CSV and as XLSX (0: skip)")
    parser.add_argument("--s3", action="store_true",
                        help="also publish into an S3 bucket (moto server on loopback unless --s3-endpoint)")
    parser.add_argument("--s3-endpoint", metavar="URL",
                        help="S3-compatible endpoint to publish to (credentials from AWS_* variables)")
    return parser.parse_args()


def run(args: argparse.Namespace) -> None:
    """The benchmark, on the migrated empty database bench_run gives it."""
    started = time.perf_counter()
    big = in_child(make_incident, "bench-register-full", args.claims, args.per_report)
    sample = in_child(make_incident, "bench-register-sample", args.sample, args.per_report)
    print(f"register_scale: {args.claims:,} claims ({args.per_report} per report) + a sample incident of "
          f"{args.sample:,}; database {connection.vendor} {settings.DATABASES['default']['NAME']}; "
          f"setup {time.perf_counter() - started:.0f} s; DEBUG off; each phase in a fresh child process")
    full = {name: in_child(writers, big, formats, False) for name, formats in FORMATS.items()}
    full["release"] = in_child(release, big, False)
    release_storage_use("folder", None)
    full["publish-folder"] = in_child(published, big, False)
    with s3_endpoint(args) as endpoint:
        if endpoint:
            release_storage_use("s3", endpoint)
            full["publish-s3"] = in_child(published, big, False)
    print_full(args.claims, full)
    if args.import_rows:
        folder = Path(tempfile.mkdtemp(prefix="sheets-", dir=settings.VAR_DIR))
        paths = sheet_write(folder, args.import_rows)
        imports = {path.suffix[1:]: in_child(sheet_import, str(path), f"bench-import-{path.suffix[1:]}")
                   for path in paths}
        queue_purge()
        shutil.rmtree(folder, ignore_errors=True)
        print_imports(args.import_rows, imports)
    print_size()
    if not args.no_trace:
        print_traced({name: in_child(writers, big, FORMATS[name], True) for name in ("csv", "xlsx")})
    ours, naive = in_child(streaming_claims, sample, False), in_child(naive_claims, sample, False)
    print_baseline(ours, naive, args.claims)
    print_verdict(full["csv"])


FORMATS = {"csv": ("csv",), "xlsx": ("xlsx",), "ods": ("ods",)}


# --- printing ----------------------------------------------------------------------------------


def print_full(claims: int, phases: dict[str, Phase]) -> None:
    labels = {"csv": "CSV  (reports.csv + claims.csv)", "xlsx": "XLSX (constant_memory, 3 sheets)",
              "ods": "ODS  (streamed zip, 3 sheets)", "release": "whole signed release (all + manifest)",
              "publish-folder": "published release, into a folder",
              "publish-s3": "published release, into S3"}
    rows = phases["csv"].rows
    print(f"\nfull incident, {rows:,} claim rows exported (the claims of withdrawn reports left out):")
    for name, phase in phases.items():
        size = f"  files {sum(phase.sizes.values()) / 2**20:,.0f} MB" if name in FORMATS else ""
        print(f"  {labels[name]:40s} {phase.seconds:7.1f} s  {phase.rows / phase.seconds:>9,.0f} claim rows/s"
              f"  peak RSS {phase.rss_mb:6.0f} MB{size}")


def print_traced(phases: dict[str, Phase]) -> None:
    print("  Python allocations at their peak (tracemalloc, separate runs; slower while tracing):")
    for name, phase in phases.items():
        print(f"    {name:5s} {phase.traced_mb:8.1f} MB  (traced run {phase.seconds:.1f} s)")


def print_baseline(ours: Phase, naive: Phase, claims: int) -> None:
    print(f"\nsample incident, claims.csv only, {ours.rows:,} rows, same data for both:")
    for label, phase in [("streaming (values_list + iterator)", ours),
                         ("naive (model instances, list)", naive)]:
        print(f"  {label:38s} {phase.seconds:6.1f} s  {phase.rows / phase.seconds:>9,.0f} rows/s"
              f"  peak RSS {phase.rss_mb:6.0f} MB")
    projected = ours.rss_mb + (naive.rss_mb - ours.rss_mb) * claims / max(naive.rows, 1)
    print(f"  ratio: {naive.seconds / ours.seconds:.1f}x the speed, {naive.rss_mb / ours.rss_mb:.1f}x less "
          f"peak memory; the naive export grows with the rows: about {projected:,.0f} MB at {claims:,}")


def print_verdict(csv_phase: Phase) -> None:
    print(f"\ntargets (bench/README.md): CSV of {csv_phase.rows:,} claim rows < 30 s: "
          f"{'met' if csv_phase.seconds < 30 else 'NOT met'} ({csv_phase.seconds:.1f} s); "
          f"peak < 300 MB: {'met' if csv_phase.rss_mb < 300 else 'NOT met'} ({csv_phase.rss_mb:.0f} MB)")


if __name__ == "__main__":
    main()
