"""Verification throughput: the engine against one-call-at-a-time web3 usage, on the same claims.

Run: ``.venv/bin/python bench/verify_throughput.py [--claims 5000] [--baseline-sample 500]``

It starts its own anvil, makes the transfers (ETH and an ERC-20, from four victims to two
attackers, some to a safelisted wallet, some claimed with a wrong amount, a few unknown hashes),
files one report per claim and verifies them twice, in this one process:

- engine: ``verification.services.reports_verify`` on batches of ``VERIFY_BATCH_SIZE`` report ids,
  as the worker does; timed per phase by wrapping the service's module functions;
- baseline: the same checks (``transfer_checks``) fed by web3.py, one call at a time, no batching,
  no caching, and each result saved row by row; measured on a random sample (fixed seed) of the
  same claims, whose statuses must equal the engine's.

Without DATABASE_URL it works in a fresh SQLite database under a temporary LOSSPROOF_VAR_DIR,
removed at the end. With DATABASE_URL, point it at an empty scratch database (it refuses one that
holds reports, and leaves its incident behind).
Figures are printed, never asserted (bench/README.md).
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

from _setup import bench_django, bench_run

TEMP_VAR_DIR = bench_django()

import argparse
import contextlib
import cProfile
import pstats
import random
import re
import shutil
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from importlib.metadata import version

import requests
from django.conf import settings
from django.db import connection
from django.utils import timezone
from web3 import Web3
from web3.exceptions import TransactionNotFound

from devtools.chain import ANVIL_CHAIN_ID, AnvilNode, anvil_start, deploy_token, send_token, transfer_calldata
from incidents.models import (
    Asset,
    AttackerAddress,
    Claim,
    ClaimStatus,
    Incident,
    IncidentChain,
    Report,
    SafelistedAddress,
)
from verification import services
from verification.checks.common import ClaimInput, IncidentContext, TransferFindings
from verification.checks.transfers import transfer_checks
from verification.clients.base import TxData, mask_url
from verification.models import CheckResult, Price, ProviderCall
from verification.selectors import incident_context, prices_for
from verification.verdict import CheckView, claim_verdict

CHAIN = f"eip155:{ANVIL_CHAIN_ID}"
TOKEN, TOKEN_DECIMALS = "TUSD", 6
TXS_PER_BLOCK = 250  # well under anvil's 30M gas limit with 80k gas per token transfer
TOKEN_GAS = 80_000
TOP_PHASES = ("_mark_checking", "_read_chains", "_judge", "_store", "_recompute")
DB_READS_IN_JUDGE = ("incident_context", "prices_for")
STATEMENT_RE = re.compile(r'^\s*(?:(SELECT|DELETE)\b.*?\bFROM|(INSERT) INTO|(UPDATE))\s+"?(\w+)', re.S)


# --- the chain and the incident ----------------------------------------------------------------


@dataclass
class Planned:
    """One claim to file: the transfer behind it (if any) and the status it should end with."""

    asset: str
    sender: str
    recipient: str
    units: int
    claimed: Decimal
    expected: str
    tx_hash: str = ""


@dataclass
class World:
    node: AnvilNode
    incident: Incident
    token: str
    victims: list[str]
    attackers: list[str]
    hot_wallet: str


def rpc_batch(url: str, calls: list[tuple[str, list]]) -> list:
    """Send one JSON-RPC batch to the local node and return the results in order."""
    payload = [{"jsonrpc": "2.0", "id": n, "method": m, "params": p} for n, (m, p) in enumerate(calls)]
    answers = sorted(requests.post(url, json=payload, timeout=60).json(), key=lambda a: a["id"])
    errors = [a["error"] for a in answers if "error" in a]
    if errors:
        raise RuntimeError(f"{len(errors)} of {len(calls)} calls failed, first: {errors[0]}")
    return [a["result"] for a in answers]


def build_world(node: AnvilNode) -> World:
    """Deploy the token, fund the victims and describe the incident around them."""
    deployer, *victims = [a.lower() for a in node.accounts[:5]]
    attackers, hot_wallet = [a.lower() for a in node.accounts[5:7]], node.accounts[7].lower()
    token = deploy_token(node.rpc, deployer=deployer, symbol=TOKEN, decimals=TOKEN_DECIMALS,
                         supply=10**9 * 10**TOKEN_DECIMALS)
    for victim in victims:
        send_token(node.rpc, token=token, sender=deployer, to=victim, units=10**6 * 10**TOKEN_DECIMALS)
    now = timezone.now()
    incident = Incident.objects.create(slug=f"bench-{now.timestamp():.0f}", title="Throughput bench",
                                       window_start=now - timedelta(days=2),
                                       window_end=now + timedelta(days=2))
    IncidentChain.objects.create(incident=incident, caip2=CHAIN, confirmations=1)
    AttackerAddress.objects.bulk_create(AttackerAddress(incident=incident, chain=CHAIN, address=a)
                                        for a in attackers)
    SafelistedAddress.objects.create(incident=incident, chain=CHAIN, address=hot_wallet)
    Asset.objects.create(incident=incident, chain=CHAIN, symbol="ETH", decimals=18, contract=None)
    Asset.objects.create(incident=incident, chain=CHAIN, symbol=TOKEN, decimals=TOKEN_DECIMALS,
                         contract=token)
    return World(node, incident, token, victims, attackers, hot_wallet)


def plan_claims(world: World, count: int) -> list[Planned]:
    """Mostly genuine losses; every 10th to the safelisted wallet, every 10th over-claimed, 2% unknown."""
    rng = random.Random(31337)
    plans = []
    for n in range(count):
        asset = "ETH" if n % 2 == 0 else TOKEN
        amount = Decimal(1 + n % 97) / 1000 if asset == "ETH" else Decimal(10 + n % 89) + Decimal("0.25")
        recipient = world.hot_wallet if n % 10 == 3 else world.attackers[n % 2]
        claimed = amount * Decimal("1.5") if n % 10 == 7 else amount
        expected = ClaimStatus.MISMATCH if n % 10 in (3, 7) else ClaimStatus.VERIFIED
        units = int(amount.scaleb(18 if asset == "ETH" else TOKEN_DECIMALS))
        plans.append(Planned(asset, world.victims[n % 4], recipient, units, claimed, expected))
        if n % 50 == 49:  # a hash no chain knows: the claim is filed, nothing is sent
            plans[-1].expected, plans[-1].tx_hash = ClaimStatus.NOT_FOUND, "0x" + rng.randbytes(32).hex()
    return plans


def send_transfers(world: World, plans: list[Planned]) -> int:
    """Send every planned transfer as JSON-RPC batches, packing TXS_PER_BLOCK per mined block."""
    url, to_send = world.node.url, [p for p in plans if not p.tx_hash]
    nonces = dict(zip(world.victims, rpc_batch(url, [("eth_getTransactionCount", [v, "pending"])
                                                      for v in world.victims]), strict=True))
    nonces = {victim: int(nonce, 16) for victim, nonce in nonces.items()}
    rpc_batch(url, [("evm_setAutomine", [False])])
    for start in range(0, len(to_send), TXS_PER_BLOCK):
        chunk = to_send[start:start + TXS_PER_BLOCK]
        hashes = rpc_batch(url, [("eth_sendTransaction", [_tx(world, p, nonces)]) for p in chunk])
        for plan, tx_hash in zip(chunk, hashes, strict=True):
            plan.tx_hash = tx_hash
        rpc_batch(url, [("evm_mine", [])])
    while int(rpc_batch(url, [("txpool_status", [])])[0]["pending"], 16):
        rpc_batch(url, [("evm_mine", [])])
    rpc_batch(url, [("evm_setAutomine", [True]), ("anvil_mine", ["0x2"])])  # depth for `settled`
    return int(rpc_batch(url, [("eth_blockNumber", [])])[0], 16)


def _tx(world: World, plan: Planned, nonces: dict[str, int]) -> dict:
    # Explicit nonce and gas: anvil handles a batch concurrently and would reuse pending nonces.
    nonce, nonces[plan.sender] = nonces[plan.sender], nonces[plan.sender] + 1
    if plan.asset == "ETH":
        return {"from": plan.sender, "to": plan.recipient, "value": hex(plan.units), "gas": hex(21_000),
                "nonce": hex(nonce)}
    return {"from": plan.sender, "to": world.token, "data": transfer_calldata(plan.recipient, plan.units),
            "gas": hex(TOKEN_GAS), "nonce": hex(nonce)}


def import_prices(world: World, head: int) -> None:
    """A price for each asset on every UTC date the blocks span, and one day either side."""
    first, last = rpc_batch(world.node.url, [("eth_getBlockByNumber", ["0x1", False]),
                                             ("eth_getBlockByNumber", [hex(head), False])])
    day = datetime.fromtimestamp(int(first["timestamp"], 16), tz=UTC).date() - timedelta(days=1)
    end = datetime.fromtimestamp(int(last["timestamp"], 16), tz=UTC).date() + timedelta(days=1)
    rows = []
    while day <= end:
        rows += [Price(date=day, symbol="ETH", usd=Decimal(2000)),
                 Price(date=day, symbol=TOKEN, usd=Decimal(1))]
        day += timedelta(days=1)
    Price.objects.bulk_create(rows, ignore_conflicts=True)


def file_reports(world: World, plans: list[Planned]) -> list[int]:
    """One report with one transfer claim per plan, in plan order; return the report ids."""
    now = timezone.now()
    reports = Report.objects.bulk_create(
        [Report(incident=world.incident, submitted_at=now + timedelta(microseconds=n))
         for n in range(len(plans))], batch_size=1000)
    Claim.objects.bulk_create(
        [Claim(report=report, chain=CHAIN, tx_hash=plan.tx_hash, asset=plan.asset, amount=plan.claimed,
               from_address=plan.sender, to_address=plan.recipient)
         for report, plan in zip(reports, plans, strict=True)], batch_size=1000)
    if connection.vendor == "postgresql":  # as autovacuum would within a minute (and import_reports does)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE incidents_report, incidents_claim")
    return [report.pk for report in reports]


# --- measuring ---------------------------------------------------------------------------------


class QueryCounter:
    """Counts and times SQL statements by verb and table, through connection.execute_wrapper.

    The time is the statement's round trip as the worker sees it (sending, the database's work,
    waiting, reading the rows back); COPY goes around the wrapper and is not counted.
    """

    def __init__(self):
        self.kinds: Counter = Counter()
        self.seconds: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        match = STATEMENT_RE.search(sql)
        kind = f"{match[1] or match[2] or match[3]} {match[4]}" if match else sql[:30]
        self.kinds[kind] += 1
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds[kind] += time.perf_counter() - started

    @property
    def count(self) -> int:
        return self.kinds.total()

    def top(self, n: int = 4) -> str:
        return ", ".join(f"{kind} x{times}" for kind, times in self.kinds.most_common(n))

    def slowest(self, n: int = 6) -> str:
        return ", ".join(f"{kind} {seconds:.2f} s" for kind, seconds in self.seconds.most_common(n))


@contextlib.contextmanager
def phase_timers(seconds: dict[str, float]):
    """Wrap the engine's module functions so each call adds its duration to seconds[name]."""
    originals = {name: getattr(services, name) for name in TOP_PHASES + DB_READS_IN_JUDGE}
    for name, function in originals.items():
        setattr(services, name, _timed(function, name, seconds))
    try:
        yield
    finally:
        for name, function in originals.items():
            setattr(services, name, function)


def _timed(function, name: str, seconds: dict[str, float]):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            seconds[name] += time.perf_counter() - started
    return wrapper


def statuses(claim_ids) -> Counter:
    return Counter(Claim.objects.filter(pk__in=list(claim_ids)).values_list("status", flat=True))


# --- the engine --------------------------------------------------------------------------------


@dataclass
class EngineRun:
    seconds: float
    cpu_seconds: float  # of this process (both threads): steadier than wall time on a shared machine
    phases: dict[str, float]
    queries: QueryCounter
    requests: int
    rpc_calls: int
    http_seconds: float


def run_engine(report_ids: list[int], batch_size: int, profiler: cProfile.Profile | None) -> EngineRun:
    """Verify every report in worker-sized batches; return time, phases, queries and RPC use."""
    phases: dict[str, float] = defaultdict(float)
    counter = QueryCounter()
    calls_before = ProviderCall.objects.count()
    with phase_timers(phases), connection.execute_wrapper(counter), profiler or contextlib.nullcontext():
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, len(report_ids), batch_size):
            services.reports_verify(report_ids=report_ids[start:start + batch_size])
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    calls = list(ProviderCall.objects.order_by("id")[calls_before:])
    return EngineRun(seconds, cpu, dict(phases), counter, len(calls),
                     sum(sum(c.methods.values()) for c in calls), sum(c.duration_ms for c in calls) / 1000)


# --- the baseline: web3.py one call at a time, rows saved one by one ----------------------------


class CountingProvider(Web3.HTTPProvider):
    """web3's HTTP provider, counting the requests it makes (one JSON-RPC call each)."""

    requests_made = 0

    def make_request(self, method, params):
        self.requests_made += 1
        return super().make_request(method, params)


def rpc_shape(value):
    """Turn web3's formatted answer back into JSON-RPC's shape (hex quantities, hex bytes)."""
    if isinstance(value, Mapping):
        return {key: rpc_shape(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rpc_shape(item) for item in value]
    if isinstance(value, bytes):
        return Web3.to_hex(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return hex(value)
    return value.lower() if isinstance(value, str) and value.startswith("0x") else value


def web3_tx_data(w3: Web3, tx_hash: str) -> TxData:
    """Read one transaction, its receipt and its block: three requests, as naive code does."""
    try:
        tx = w3.eth.get_transaction(tx_hash)
    except TransactionNotFound:
        return TxData(tx_hash)
    try:
        receipt = w3.eth.get_transaction_receipt(tx_hash)
    except TransactionNotFound:
        return TxData(tx_hash, tx=rpc_shape(tx))
    block = w3.eth.get_block(receipt["blockNumber"])
    return TxData(tx_hash, tx=rpc_shape(tx), receipt=rpc_shape(receipt),
                  block={"number": block["number"], "hash": Web3.to_hex(block["hash"]),
                         "timestamp": block["timestamp"]})


def baseline_verify(w3: Web3, claim: Claim, context: IncidentContext) -> None:
    """Check one claim with web3 calls one by one, then save each result row on its own."""
    data = web3_tx_data(w3, claim.tx_hash)
    head, finalized = w3.eth.block_number, w3.eth.get_block("finalized")["number"]
    day = datetime.fromtimestamp(data.block["timestamp"], tz=UTC).date() if data.block else None
    found = transfer_checks(
        claim=ClaimInput(claim.chain, claim.tx_hash, claim.log_index, claim.asset, claim.amount,
                         claim.from_address),
        data=data, context=context, head=head, finalized=finalized,
        prices=prices_for(symbols={asset.symbol for _, asset in context.assets}, days={day}) if day else {},
    )
    save_naively(claim, found, mask_url(str(w3.provider.endpoint_uri)))


def save_naively(claim: Claim, found: TransferFindings, provider: str) -> None:
    """One statement per row, each in its own autocommit transaction."""
    started = timezone.now()
    CheckResult.objects.filter(claim=claim).delete()
    for outcome in found.outcomes:
        CheckResult.objects.create(report_id=claim.report_id, claim=claim, check_name=outcome.name,
                                   outcome=outcome.outcome, reasons=outcome.reasons, raw=outcome.raw,
                                   provider=provider, started_at=started, finished_at=timezone.now())
    verdict = claim_verdict(CheckView(o.name, o.outcome, tuple(o.reasons)) for o in found.outcomes)
    claim.status = claim.checked_status = verdict.status
    claim.reasons, claim.chain_sender = list(verdict.reasons), found.sender or ""
    claim.block_number, claim.block_time = found.block_number, found.block_time
    claim.usd_value, claim.settled, claim.checked_at = found.usd_value, found.settled, timezone.now()
    claim.save(update_fields=services.CLAIM_FIELDS)
    services.reports_recompute(report_ids=[claim.report_id])


@dataclass
class BaselineRun:
    seconds: float
    queries: int
    requests: int


def run_baseline(url: str, claim_ids: list[int], incident: Incident) -> BaselineRun:
    """Verify the sample claim by claim; the incident's reference data is loaded once."""
    w3 = Web3(CountingProvider(url))
    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        context = incident_context(incident=incident)
        for claim_id in claim_ids:
            baseline_verify(w3, Claim.objects.select_related("report").get(pk=claim_id), context)
        seconds = time.perf_counter() - started
    return BaselineRun(seconds, counter.count, w3.provider.requests_made)


def forget_results(claim_ids: list[int]) -> None:
    """Put the sample back to unchecked, so the baseline's statuses are its own."""
    CheckResult.objects.filter(claim_id__in=claim_ids).delete()
    Claim.objects.filter(pk__in=claim_ids).update(status=ClaimStatus.UNCHECKED, reasons=[], usd_value=None,
                                                  block_number=None, block_time=None, settled=False)


def outcomes_by_claim(claim_ids: list[int]) -> dict[int, tuple]:
    rows = Claim.objects.filter(pk__in=claim_ids).values_list("pk", "status", "usd_value", "settled")
    return {pk: rest for pk, *rest in rows}


# --- end to end: the commands an operator runs, against a plain web3 script --------------------


@dataclass
class PlainRun:
    seconds: float
    statuses: dict[str, str]  # tx hash -> status


def plain_script(url: str, rows: list[tuple[str, str]], context: IncidentContext, prices: dict) -> PlainRun:
    """Check each (tx hash, victim) the way a plain web3 script would: one call at a time, in memory."""
    w3 = Web3(Web3.HTTPProvider(url))
    found = {}
    started = time.perf_counter()
    for tx_hash, victim in rows:
        data = web3_tx_data(w3, tx_hash)
        head, finalized = w3.eth.block_number, w3.eth.get_block("finalized")["number"]
        outcome = transfer_checks(claim=ClaimInput(CHAIN, tx_hash, None, "", None, victim), data=data,
                                  context=context, head=head, finalized=finalized, prices=prices)
        found[tx_hash] = claim_verdict(CheckView(o.name, o.outcome, tuple(o.reasons))
                                       for o in outcome.outcomes).status
    return PlainRun(time.perf_counter() - started, found)


def write_sheet(path, plans: list[Planned]) -> list[tuple[str, str]]:
    """Write one row per planned transfer (reporter, chain, victim address, hash); return the pairs."""
    import csv

    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reporter", "chain", "victim_address", "tx_hashes"])
        for n, plan in enumerate(plans):
            writer.writerow([f"Victim {n}", CHAIN, plan.sender, plan.tx_hash])
    return [(plan.tx_hash, plan.sender) for plan in plans]


def command_env(node: AnvilNode, queue: str) -> dict[str, str]:
    """The environment of the commands and workers: this bench's database, broker, node and queues."""
    import os
    import secrets

    return {**os.environ, "CHAIN_RPC_URLS": f"{CHAIN}={node.url}", "CELERY_TASK_DEFAULT_QUEUE": queue,
            "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(48),
            "REPORT_REF_KEY": secrets.token_urlsafe(32), "AUDIT_KEY": secrets.token_urlsafe(48),
            "ALLOWED_HOSTS": "localhost",
            "EMAIL_HOST": "localhost", "LOG_LEVEL": "WARNING"}


@contextlib.contextmanager
def workers(count: int, concurrency: int, env: dict[str, str], log_dir):
    """Run ``count`` Celery worker processes on this bench's queues until the block ends."""
    import subprocess

    from config.queues import queue_names
    from verification.heartbeat import worker_alive

    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    processes = []
    try:
        for n in range(count):
            command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel=WARNING",
                       f"--concurrency={concurrency}", "--without-gossip", "--without-mingle",
                       "--without-heartbeat", "-Q", ",".join(queue_names(queue)), "-n", f"bench{n}@%h"]
            log = open(f"{log_dir}/worker{n}.log", "wb")  # noqa: SIM115 - closed with the process
            processes.append((subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT,
                                               cwd=settings.BASE_DIR), log))
        deadline = time.monotonic() + 120
        while count and not _all_beating(count, f"{queue}.chain", worker_alive):
            if time.monotonic() > deadline or any(p.poll() is not None for p, _ in processes):
                sys.exit(f"the workers did not start; see {log_dir}/worker*.log")
            time.sleep(0.3)
        yield [process for process, _ in processes]
    finally:
        for process, log in processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def _all_beating(count: int, queue: str, worker_alive) -> bool:
    from verification.models import WorkerHeartbeat

    beating = WorkerHeartbeat.objects.filter(hostname__startswith="bench").count()
    return worker_alive(queue=queue) and beating >= count


def peak_rss_mb(pids: list[int]) -> float:
    """Sum the peak resident memory (VmHWM) of these processes and their children, in MB."""
    from pathlib import Path

    total, seen = 0, set()
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{pid}/status").read_text()
            total += int(re.search(r"VmHWM:\s+(\d+)", status)[1])
            for task in Path(f"/proc/{pid}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
    return total / 1024


@dataclass
class EndToEndRun:
    seconds: float
    import_seconds: float
    verify_seconds: float
    worker_rss_mb: float


def run_commands(sheet, slug: str, env: dict[str, str], pids: list[int]) -> EndToEndRun:
    """Run import_reports then verify --wait as commands; time from the import's start to verify's end."""
    import subprocess

    manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
    started = time.perf_counter()
    subprocess.run([*manage, "import_reports", str(sheet), "--incident", slug], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    imported = time.perf_counter()
    done = subprocess.run([*manage, "verify", "--incident", slug, "--wait"], env=env, check=True,
                          capture_output=True, text=True)
    finished = time.perf_counter()
    said = [line for line in done.stdout.splitlines() if not line.startswith("verify:")]
    print("  verify said: " + " | ".join(said)[:400])
    return EndToEndRun(finished - started, imported - started, finished - imported, peak_rss_mb(pids))


@dataclass
class Count:
    claims: int
    agreeing: int
    result_sets: Counter
    receipts_read: int


def count_in_database(incident: Incident, expected: dict[str, str], calls_before: int) -> Count:
    """Count the incident's claims whose status is the plain script's, and how often each was read."""
    rows = Claim.objects.filter(report__incident=incident).values_list("pk", "tx_hash", "status")
    agreeing = sum(1 for _, tx_hash, status in rows if expected.get(tx_hash) == status)
    sets = Counter(CheckResult.objects.filter(claim__report__incident=incident, check_name="tx_exists")
                   .values_list("claim_id", flat=True))
    calls = ProviderCall.objects.order_by("id")[calls_before:].values_list("methods", "ok")
    receipts = sum(methods.get("eth_getTransactionReceipt", 0) for methods, ok in calls if ok)
    return Count(len(rows), agreeing, Counter(sets.values()), receipts)


def end_to_end(node: AnvilNode, args: argparse.Namespace) -> None:
    """Generate the sheet, check it with the plain script, then with the commands and K workers."""
    import os
    import tempfile
    from pathlib import Path

    load_before = os.getloadavg()
    world = build_world(node)
    plans = plan_claims(world, args.claims)
    head = send_transfers(world, plans)
    import_prices(world, head)
    folder = Path(tempfile.mkdtemp(prefix="lossproof-e2e-"))
    rows = write_sheet(folder / "losses.csv", plans)
    print_e2e_setup(args, head)

    context = incident_context(incident=world.incident)
    prices = {(p.symbol, p.date): p.usd for p in Price.objects.all()}
    sample = rows if args.plain_sample is None else random.Random(7).sample(rows, args.plain_sample)
    plain = plain_script(node.url, sample, context, prices)
    print(f"\nplain web3 script (web3.py {version('web3')}, one call at a time, results in memory, "
          "no database):")
    print(f"  {len(sample)} claims in {plain.seconds:.2f} s = {len(sample) / plain.seconds:,.1f} claims/s"
          + ("" if sample is rows else " (a sample: not a counted run; only its claims are compared)"))
    if sample is not rows:  # a quick look (profiling): the rate over N at the sample's pace
        plain.seconds *= len(rows) / len(sample)
    print(f"  statuses: {dict(Counter(plain.statuses.values()))}")

    env = command_env(node, queue=f"bench{int(time.time())}")
    calls_before = ProviderCall.objects.count()
    with workers(args.workers, args.worker_concurrency, env, folder) as processes:
        run = run_commands(folder / "losses.csv", world.incident.slug, env, [p.pid for p in processes])
    counted = count_in_database(world.incident, plain.statuses, calls_before)
    shutil.rmtree(folder, ignore_errors=True)
    print_e2e(args, run, plain, len(rows), counted, load_before)


def print_e2e_setup(args: argparse.Namespace, head: int) -> None:
    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    print(f"verify_throughput --end-to-end: N = {args.claims} one-transfer rows, K = {args.workers} worker "
          f"processes (concurrency {args.worker_concurrency} each); database {connection.vendor} "
          f"{db['NAME']}, broker {broker}, VERIFY_BATCH_SIZE {settings.VERIFY_BATCH_SIZE}; {head} blocks")


def print_e2e(args, run: EndToEndRun, plain: PlainRun, claims: int, counted: Count, load_before) -> None:
    import os

    rate, plain_rate = claims / run.seconds, claims / plain.seconds
    print(f"\nLossproof (import_reports, then verify --incident SLUG --wait; K = {args.workers}):")
    print(f"  {claims} claims in {run.seconds:.2f} s = {rate:,.0f} claims/s "
          f"(import {run.import_seconds:.2f} s = {claims / run.import_seconds:,.0f} rows/s, "
          f"then verify --wait {run.verify_seconds:.2f} s)")
    if args.workers:
        print(f"  workers' peak resident memory, all processes: {run.worker_rss_mb:,.0f} MB")
    once = counted.result_sets == Counter({1: claims}) and counted.receipts_read == claims
    print(f"  in the database: {counted.agreeing} of {counted.claims} claims with the plain script's status; "
          f"result sets per claim {dict(counted.result_sets)}; receipts read {counted.receipts_read} "
          f"({'each claim checked once' if once else 'NOT once each'})")
    valid = counted.agreeing == counted.claims == claims and once and args.plain_sample is None
    print(f"\nresult: Lossproof {rate:,.0f} claims/s, plain script {plain_rate:,.1f} claims/s, "
          f"ratio {rate / plain_rate:.1f}x; run {'counts' if valid else 'does NOT count'}")
    print(f"load average (1, 5, 15 min): before {_load(load_before)}, after {_load(os.getloadavg())}")


def _load(values) -> str:
    return " ".join(f"{v:.2f}" for v in values)


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    bench_run(run, parse_args(), TEMP_VAR_DIR)


def run(args: argparse.Namespace) -> None:
    """The benchmark, on the migrated empty database bench_run gives it."""
    node = anvil_start()
    try:
        settings.CHAIN_RPC_URLS = {CHAIN: [node.url]}
        end_to_end(node, args) if args.end_to_end else bench(node, args)
    finally:
        node.stop()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=5000, help="transfer claims to verify (default 5000)")
    parser.add_argument("--baseline-sample", type=int, default=500,
                        help="claims the naive baseline verifies (default 500, drawn at random)")
    parser.add_argument("--profile", action="store_true",
                        help="run the engine under cProfile and print its costliest calls (slower)")
    parser.add_argument("--batch", type=int, default=settings.VERIFY_BATCH_SIZE,
                        help="report ids per reports_verify call (default VERIFY_BATCH_SIZE)")
    parser.add_argument("--end-to-end", action="store_true",
                        help="time import_reports + verify --wait as commands against a plain web3 script")
    parser.add_argument("--workers", type=int, default=1,
                        help="end to end: worker processes started beforehand (0: verify works in-process)")
    parser.add_argument("--plain-sample", type=int, default=None,
                        help="end to end: time the plain script on this many claims only (a quick look, "
                        "e.g. while profiling; such a run does not count)")
    parser.add_argument("--worker-concurrency", type=int, default=1,
                        help="end to end: pool processes of each worker (default 1)")
    return parser.parse_args()


def bench(node: AnvilNode, args: argparse.Namespace) -> None:
    world, plans, report_ids = prepare(node, args)
    claim_ids = list(Claim.objects.filter(report_id__in=report_ids).order_by("report_id")
                     .values_list("pk", flat=True))
    profiler = cProfile.Profile() if args.profile else None
    engine = run_engine(report_ids, args.batch, profiler)
    print_engine(engine, len(plans), statuses(claim_ids), Counter(p.expected for p in plans))
    if profiler is not None:
        print("  cProfile of the engine (figures above are slowed by profiling), by cumulative time:")
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(30)

    sample = sorted(random.Random(7).sample(claim_ids, min(args.baseline_sample, len(claim_ids))))
    by_engine = outcomes_by_claim(sample)
    forget_results(sample)
    baseline = run_baseline(node.url, sample, world.incident)
    print_baseline(baseline, sample, by_engine, outcomes_by_claim(sample))
    print_verdict(len(plans) / engine.seconds, len(sample) / baseline.seconds)


def prepare(node: AnvilNode, args: argparse.Namespace) -> tuple[World, list[Planned], list[int]]:
    """Make the incident, the transfers, the prices and the reports; return the report ids."""
    started = time.perf_counter()
    world = build_world(node)
    plans = plan_claims(world, args.claims)
    head = send_transfers(world, plans)
    import_prices(world, head)
    report_ids = file_reports(world, plans)
    print_setup(args, plans, head, time.perf_counter() - started)
    return world, plans, report_ids


# --- printing ----------------------------------------------------------------------------------


def print_setup(args: argparse.Namespace, plans: list[Planned], head: int, seconds: float) -> None:
    db = settings.DATABASES["default"]
    where = f"{connection.vendor} {db['NAME']}"
    print(f"verify_throughput: {len(plans)} transfer claims on anvil, one report each; database: {where}")
    unknown = sum(1 for p in plans if p.expected == ClaimStatus.NOT_FOUND)
    print(f"setup: {len(plans) - unknown} transactions sent + {unknown} unknown hashes, {head} blocks, "
          f"{seconds:.1f} s; engine batches of {args.batch} report ids; DEBUG off")


def print_engine(run: EngineRun, claims: int, found: Counter, expected: Counter) -> None:
    phases = run.phases
    # The chain reads run in their own thread, beside the writes: the other phases are this thread's.
    other = run.seconds - sum(phases.get(name, 0.0) for name in TOP_PHASES if name != "_read_chains")
    reads = ", ".join(f"{name} {phases.get(name, 0.0):.2f}" for name in DB_READS_IN_JUDGE)
    print("\nengine (reports_verify, this process = one worker):")
    print(f"  {claims} claims in {run.seconds:.2f} s = {claims / run.seconds:,.0f} claims/s; "
          f"this process's CPU {run.cpu_seconds:.2f} s ({1000 * run.cpu_seconds / claims:.2f} ms per claim)")
    print(f"  RPC: {run.requests} HTTP requests (ProviderCall rows) carrying {run.rpc_calls} JSON-RPC calls; "
          f"SQL: {run.queries.count} statements ({run.queries.count / claims:.2f} per claim)")
    print(f"  most frequent statements: {run.queries.top()}")
    print(f"  statements taking the most time: {run.queries.slowest()}")
    print("  where the time goes:")
    print(f"    chain read  (_read_chains)      {phases.get('_read_chains', 0.0):7.2f} s"
          f"   of which HTTP round trips {run.http_seconds:.2f} s (ProviderCall.duration_ms);"
          " in a thread of its own, beside the phases below")
    print(f"    judge       (_judge)            {phases.get('_judge', 0.0):7.2f} s"
          f"   of which DB reads: {reads}")
    print(f"    DB write    (_store)            {phases.get('_store', 0.0):7.2f} s")
    print(f"    recompute   (_recompute)        {phases.get('_recompute', 0.0):7.2f} s")
    print(f"    mark        (_mark_checking)    {phases.get('_mark_checking', 0.0):7.2f} s")
    print(f"    other (claims query, waiting for a part's chain read, ProviderCall insert, commit) "
          f"{other:.2f} s")
    verdict = "as planned" if found == expected else f"DIFFERENT from the plan {dict(expected)}"
    print(f"  claims by status: {dict(found)} ({verdict})")


def print_baseline(run: BaselineRun, sample: list[int], engine: dict, baseline: dict) -> None:
    differing = [pk for pk in sample if engine[pk] != baseline[pk]]
    print(f"\nbaseline (web3.py {version('web3')}, one call at a time, no batching, no caching, "
          "rows saved one by one):")
    print(f"  sample: {len(sample)} of the claims, drawn at random (fixed seed); measured on the sample only")
    print(f"  {len(sample)} claims in {run.seconds:.2f} s = {len(sample) / run.seconds:,.1f} claims/s")
    print(f"  RPC: {run.requests} HTTP requests, one JSON-RPC call each; SQL: {run.queries} statements "
          f"({run.queries / len(sample):.1f} per claim)")
    print(f"  sample by status: engine {dict(Counter(v[0] for v in engine.values()))}, "
          f"baseline {dict(Counter(v[0] for v in baseline.values()))}")
    agreement = "identical for every claim"
    if differing:
        agreement = f"{len(differing)} claims DIFFER, e.g. {differing[:5]}"
    print(f"  status, usd_value and settled per claim: {agreement}")


def print_verdict(engine_rate: float, baseline_rate: float) -> None:
    ratio = engine_rate / baseline_rate
    print(f"\nresult: engine {engine_rate:,.0f} claims/s, baseline {baseline_rate:,.1f} claims/s, "
          f"ratio {ratio:.1f}x")
    print(f"targets (bench/README.md): >= 20x: {'met' if ratio >= 20 else 'NOT met'}; "
          f">= 1,000 claims/s per worker: {'met' if engine_rate >= 1000 else 'NOT met'}")


if __name__ == "__main__":
    main()
