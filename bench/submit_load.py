"""Report submission under load: POST /api/v1/reports/ on gunicorn against a cheap authenticated GET.

Run: ``.venv/bin/python bench/submit_load.py [--levels 4,8,16,32,64] [--seconds 10] [--workers 5]
[--repeat 3] [--database-url postgres://postgres@127.0.0.1:5432/postgres]
[--broker-url redis://127.0.0.1:6379/15]``

It builds a scratch world (a temporary LOSSPROOF_VAR_DIR, a migrated database, one published
incident on eip155:1 with ETH and USDT, one exchange, reporters with API tokens), starts gunicorn
(sync workers, production settings: DEBUG=0, a random SECRET_KEY and REPORT_REF_KEY,
SECURE_SSL_REDIRECT=0 because loopback has no TLS) on a free loopback port, and drives it from
this process with closed-loop asyncio clients, one new connection per request as gunicorn's sync
workers close each one. At each concurrency level it runs, for ``--seconds`` each:

- baseline: ``GET /api/v1/reports/?page_size=1`` by reporters who have no reports, the cheapest
  authenticated API call (token lookup, ``last_used_at`` update, an empty page): the floor of
  gunicorn + Django + DRF + token auth on this machine;
- reports: ``POST /api/v1/reports/`` with 1 to 3 transfer claims each (distinct tx hashes), the
  reporter API's real path (validation, one transaction, verification queued on commit).

Then it checks that no request was lost: every 201's report is in the database with the owner and
the exact claims sent, the database holds no report that was not answered 201, nothing refused
was stored, and every stored report has its verification message on the broker. No worker
consumes the broker: this measures accepting reports, not verifying them. The throttle on writes
stays in the request path with a rate too high to refuse (API_WRITE_RATE).

Without ``--database-url`` the database is an SQLite file in the temporary folder. With it, a
throw-away database is created next to the one named, and dropped at the end. The broker is a
filesystem folder in the temporary folder unless ``--broker-url`` names a Redis database; the
queue has a name of its own and its keys are deleted at the end.
Figures are printed, never asserted (bench/README.md).
"""
# ruff: noqa: E402 - Django must be configured before the project's modules are imported.

import argparse
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from _http import CLOCK_TICKS, Server, cpu_seconds, cpu_used, database_pids, production_environment

P99_TARGET_MS = 300


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="4,8,16,32,64",
                        help="concurrent clients per run (default 4,8,16,32,64)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each run (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="unmeasured warm-up per endpoint, while every worker boots (default 2)")
    parser.add_argument("--workers", type=int, default=2 * len(os.sched_getaffinity(0)) + 1,
                        help="gunicorn sync workers (default 2 x cores + 1)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs per level; the one other programs disturbed least is kept (default 1)")
    parser.add_argument("--users", type=int, default=64, help="reporters filing reports (default 64)")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL URL; a throw-away database is created beside it and dropped")
    parser.add_argument("--broker-url", default="", help="a redis:// URL (default: a filesystem folder)")
    args = parser.parse_args()
    args.levels = [int(level) for level in args.levels.split(",")]
    return args


ARGS = parse_args()  # before Django: the database and the broker are chosen from them


def _prepare_environment(args: argparse.Namespace) -> Path:
    """Give Django (and gunicorn, which inherits it) a scratch folder, database, broker, production flags."""
    var_dir = Path(tempfile.mkdtemp(prefix="lossproof-bench-"))
    production_environment(
        var_dir, EMAIL_HOST="smtp.invalid",  # production refuses the console backend; no mail is sent here
        API_WRITE_RATE="100000000/hour", CELERY_TASK_DEFAULT_QUEUE=f"bench-submit-{os.getpid()}",
        CELERY_BROKER_URL=args.broker_url or f"filesystem://{var_dir / 'broker'}",
        DATABASE_URL=scratch_database_url(args.database_url) if args.database_url
        else f"sqlite:///{var_dir / 'lossproof.sqlite3'}")
    return var_dir


def scratch_database_url(url: str) -> str:
    """The URL of a throw-away database on the server ``url`` names."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/lossproof_bench_submit_{os.getpid()}"))


def pg_admin(url: str, statement: str) -> None:
    """Run one statement (CREATE/DROP DATABASE) outside a transaction on the server ``url`` names."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(statement)


TEMP_VAR_DIR = _prepare_environment(ARGS)
SCRATCH_DB = urlsplit(os.environ["DATABASE_URL"]).path.lstrip("/") if ARGS.database_url else ""
if SCRATCH_DB:
    pg_admin(ARGS.database_url, f'CREATE DATABASE "{SCRATCH_DB}"')

import django

django.setup()
import asyncio
import json
import re
import shutil
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from importlib.metadata import version

from django.conf import settings
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from accounts.models import User
from accounts.services import token_issue
from incidents.models import Asset, Claim, Exchange, Incident, IncidentChain, Report

CHAIN = "eip155:1"
USDT = "0xdac17f958d2ee523a2206206994597c13d831ec7"
LENGTH_RE = re.compile(rb"(?im)^content-length:\s*(\d+)")
REQUEST_TIMEOUT = 60.0


# --- the world ---------------------------------------------------------------------------------


@dataclass
class Reporter:
    user_id: int
    token: str


def build_world(users: int) -> tuple[list[Reporter], list[Reporter]]:
    """Migrate, publish an incident with its chain, assets and exchange; return filers and readers."""
    call_command("migrate", verbosity=0, interactive=False)
    now = timezone.now()
    incident = Incident.objects.create(slug="bench-submit", title="Submission load bench", published=True,
                                       window_start=now - timedelta(days=30), window_end=now)
    IncidentChain.objects.create(incident=incident, caip2=CHAIN, confirmations=12)
    Asset.objects.create(incident=incident, chain=CHAIN, symbol="ETH", decimals=18, contract=None)
    Asset.objects.create(incident=incident, chain=CHAIN, symbol="USDT", decimals=6, contract=USDT)
    Exchange.objects.create(incident=incident, name="Binance", support_domains=["binance.com"])
    return reporters("filer", users), reporters("reader", users)


def reporters(name: str, count: int) -> list[Reporter]:
    """``count`` reporter accounts named ``name<n>``, each with a fresh API token."""
    emails = [f"{name}{n}@bench.invalid" for n in range(count)]
    tokens = [token_issue(email=email, role="reporter") for email in emails]
    ids = dict(User.objects.filter(email__in=emails).values_list("email", "id"))
    return [Reporter(ids[email], token) for email, token in zip(emails, tokens, strict=True)]


# --- the machine -------------------------------------------------------------------------------


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy since boot (/proc/stat, idle and iowait out)."""
    numbers = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(numbers) - numbers[3] - numbers[4]) / CLOCK_TICKS


# --- the requests ------------------------------------------------------------------------------


def get_request(port: int, token: str) -> bytes:
    return (f"GET /api/v1/reports/?page_size=1 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Authorization: Token {token}\r\nConnection: close\r\n\r\n").encode()


def post_request(port: int, token: str, body: bytes) -> bytes:
    return (f"POST /api/v1/reports/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Token {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            ).encode() + body


def report_body(n: int) -> tuple[bytes, tuple[str, ...]]:
    """Report number ``n``: 1 to 3 transfer claims with hashes no other report uses."""
    hashes = tuple(f"0x{n:056x}{k:08x}" for k in range(1 + n % 3))
    claims = [{"chain": CHAIN, "tx_hash": tx_hash, "asset": "USDT" if k % 2 else "eth",
               "amount": f"{1 + n % 500}.25", "from_address": f"0x{n % 10_000:040x}"}
              for k, tx_hash in enumerate(hashes)]
    body = {"incident": "bench-submit", "exchange": "binance", "claimed_loss_usd": "1520.00",
            "loss_date": "2022-11-20", "support_ticket_id": f"{10_000_000 + n}",
            "consent_law_enforcement": True,
            "notes": "Withdrawals I did not make, after the exchange's API keys leaked.", "claims": claims}
    return json.dumps(body).encode(), hashes


async def send(port: int, request: bytes) -> tuple[int, bytes]:
    """One request on a fresh connection; (status, body), status 0 when no full answer came."""
    try:
        return await asyncio.wait_for(_exchange(port, request), REQUEST_TIMEOUT)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
        return 0, b""


async def _exchange(port: int, request: bytes) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = LENGTH_RE.search(head)
        body = await (reader.readexactly(int(length[1])) if length else reader.read())
        return int(head.split(b" ", 2)[1]), body
    finally:
        writer.close()


# --- the load ----------------------------------------------------------------------------------


@dataclass
class Outcome:
    status: int
    seconds: float
    reporter: Reporter
    hashes: tuple[str, ...] = ()
    report_id: int | None = None


@dataclass
class Run:
    clients: int
    wall: float
    outcomes: list[Outcome]
    server_cpu: float
    client_cpu: float
    db_cpu: float  # PostgreSQL's backends; SQLite works inside the server's processes
    busy: float  # CPU seconds the whole machine spent during the run, every process counted

    @property
    def answered(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status]

    @property
    def errors(self) -> int:
        return sum(o.status not in (200, 201) for o in self.outcomes)

    def percentile(self, p: float) -> float:
        """Latency in ms at percentile ``p`` (nearest rank) over every answered request."""
        latencies = sorted(o.seconds for o in self.answered)
        if not latencies:
            return float("nan")
        return 1000 * latencies[max(0, -(-len(latencies) * p // 100) - 1)]

    @property
    def others(self) -> float:
        """Cores used by every process but gunicorn and this client (the database among them)."""
        return max(0.0, self.busy - self.server_cpu - self.client_cpu - self.db_cpu) / self.wall

    @property
    def cpu_per_request(self) -> float:
        """CPU seconds per answered request: gunicorn, this client and the database together."""
        return (self.server_cpu + self.client_cpu + self.db_cpu) / max(1, len(self.answered))

    @property
    def ceiling(self) -> float:
        """Requests per second the machine's cores would carry if nothing else ran on them."""
        return len(os.sched_getaffinity(0)) / self.cpu_per_request

    @property
    def rate(self) -> float:
        return sum(o.status in (200, 201) for o in self.outcomes) / self.wall


class Load:
    """Closed-loop clients: each sends its next request as soon as the previous one is answered."""

    def __init__(self, server: Server, filers: list[Reporter], readers: list[Reporter]):
        self.server, self.filers, self.readers = server, filers, readers
        self.next_report = 0
        self.outcomes: list[Outcome] = []  # every request of every run, for the loss check

    def run(self, kind: str, clients: int, seconds: float) -> Run:
        server, db = cpu_seconds(self.server.pids(master=True)), cpu_seconds(database_pids())
        cpu, busy, started = time.process_time(), machine_busy(), time.perf_counter()
        outcomes = asyncio.run(self._drive(kind, clients, started + seconds))
        wall = time.perf_counter() - started
        self.outcomes += outcomes
        return Run(clients, wall, outcomes, cpu_used(server, cpu_seconds(self.server.pids(master=True))),
                   time.process_time() - cpu, cpu_used(db, cpu_seconds(database_pids())),
                   machine_busy() - busy)

    async def _drive(self, kind: str, clients: int, deadline: float) -> list[Outcome]:
        outcomes: list[Outcome] = []
        step = self._post if kind == "post" else self._get
        await asyncio.gather(*(self._client(step, n, deadline, outcomes) for n in range(clients)))
        return outcomes

    async def _client(self, step, n: int, deadline: float, outcomes: list[Outcome]) -> None:
        while time.perf_counter() < deadline:
            outcomes.append(await step(n))

    async def _get(self, n: int) -> Outcome:
        reader = self.readers[n % len(self.readers)]
        started = time.perf_counter()
        status, _ = await send(self.server.port, get_request(self.server.port, reader.token))
        return Outcome(status, time.perf_counter() - started, reader)

    async def _post(self, n: int) -> Outcome:
        self.next_report += 1
        filer = self.filers[self.next_report % len(self.filers)]
        body, hashes = report_body(self.next_report)
        request = post_request(self.server.port, filer.token, body)
        started = time.perf_counter()
        status, answer = await send(self.server.port, request)
        outcome = Outcome(status, time.perf_counter() - started, filer, hashes)
        if status == 201:
            outcome.report_id = json.loads(answer)["id"]
        return outcome


# --- nothing lost ------------------------------------------------------------------------------


@dataclass
class LossCheck:
    created: int  # answered 201
    stored: int  # reports in the database
    claims: int
    missing: list[int] = field(default_factory=list)  # 201 ids absent from the database
    wrong: list[int] = field(default_factory=list)  # 201 ids stored with another owner or other claims
    refused_stored: int = 0  # answered with an error, yet something was stored
    unanswered_stored: int = 0  # no answer came (timeout, reset), and the report was stored
    queued: int | None = None  # verification messages on the broker

    @property
    def lost(self) -> bool:
        # A report stored while its answer was lost (timeout, reset) is not lost: it is counted apart.
        return bool(self.missing or self.wrong or self.refused_stored
                    or self.stored != self.created + self.unanswered_stored
                    or (self.queued is not None and self.queued != self.stored))


def loss_check(outcomes: list[Outcome], queued: int | None) -> LossCheck:
    """Compare every POST's answer with what the database holds."""
    claims: dict[int, set[str]] = defaultdict(set)
    for report_id, tx_hash in Claim.objects.values_list("report_id", "tx_hash").iterator():
        claims[report_id].add(tx_hash)
    owners = dict(Report.objects.values_list("id", "reporter_id"))
    posts = [o for o in outcomes if o.hashes]
    created = [o for o in posts if o.status == 201]
    stored_hashes = {tx_hash for hashes in claims.values() for tx_hash in hashes}
    check = LossCheck(len(created), len(owners), len(stored_hashes), queued=queued)
    check.missing = [o.report_id for o in created if o.report_id not in owners]
    check.wrong = [o.report_id for o in created if o.report_id in owners
                   and (owners[o.report_id] != o.reporter.user_id or claims[o.report_id] != set(o.hashes))]
    check.refused_stored = sum(bool(stored_hashes & set(o.hashes)) for o in posts if o.status not in (0, 201))
    check.unanswered_stored = sum(bool(stored_hashes & set(o.hashes)) for o in posts if o.status == 0)
    return check


def queued_messages() -> int | None:
    """Messages waiting on the bench's queues (the verification of each stored report, on .chain)."""
    from config.queues import queue_names

    queues = queue_names(settings.CELERY_TASK_DEFAULT_QUEUE)
    if settings.CELERY_BROKER_URL.startswith("filesystem"):
        folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_out"])
        return sum(1 for queue in queues for _ in folder.glob(f"*.{queue}.msg"))
    if settings.CELERY_BROKER_URL.startswith("redis"):
        client = redis_client()
        return sum(client.llen(key) for queue in queues for key in redis_queue_keys(client, queue))
    return None


def redis_client():
    import redis

    return redis.Redis.from_url(settings.CELERY_BROKER_URL)


def redis_queue_keys(client, queue: str) -> list[bytes]:
    # kombu keeps one list per priority step: the queue's name, then name + "\x06\x16" + step.
    return [key for key in client.scan_iter(match=f"{queue}*")
            if key == queue.encode() or key.startswith(f"{queue}\x06\x16".encode())]


# --- printing ----------------------------------------------------------------------------------


def run_lines(label: str, run: Run) -> str:
    answered = max(1, len(run.answered))
    db = f", database {1000 * run.db_cpu / answered:.1f}" if SCRATCH_DB else ""
    return (f"  {label:32s} {run.rate:7.1f} req/s  p50 {run.percentile(50):6.1f}"
            f"  p95 {run.percentile(95):6.1f}  p99 {run.percentile(99):6.1f} ms  errors {run.errors}\n"
            f"  {'':32s} cpu per request: gunicorn {1000 * run.server_cpu / answered:.1f} ms{db}, client "
            f"{1000 * run.client_cpu / answered:.2f} -> {run.ceiling:.0f} req/s if alone; cores busy "
            f"{run.busy / run.wall:.2f}, of which other processes {run.others:.2f}")


def print_level(base: Run, post: Run) -> None:
    print(f"\n{post.clients} concurrent clients:")
    print(run_lines("baseline GET reports?page_size=1", base))
    print(run_lines("POST report (1-3 claims)", post))
    print(f"  ratio: report creation runs at {post.rate / base.rate:.2f}x the baseline's requests/s "
          f"({base.rate / post.rate:.1f}x slower), p50 {post.percentile(50) / base.percentile(50):.1f}x, "
          f"p99 {post.percentile(99) / base.percentile(99):.1f}x; CPU per request "
          f"{post.cpu_per_request / base.cpu_per_request:.1f}x the baseline's")


def carried(levels: list[tuple[Run, Run]]) -> Run | None:
    """The highest level whose POST p99 is under the target with no error."""
    fine = [post for _, post in levels if post.percentile(99) < P99_TARGET_MS and not post.errors]
    return max(fine, key=lambda run: run.clients, default=None)


def print_summary(levels: list[tuple[Run, Run]], check: LossCheck) -> None:
    print("\nsummary, POST /api/v1/reports/ (ratio: requests/s against the baseline GET at the same level; "
          "cpu: ms per request, every process of the bench; others: cores other programs took):")
    print("  clients    req/s     p50     p95     p99 ms  errors  ratio    cpu  if alone  others")
    for base, post in levels:
        print(f"  {post.clients:7d} {post.rate:8.1f} {post.percentile(50):7.1f} {post.percentile(95):7.1f} "
              f"{post.percentile(99):7.1f}    {post.errors:5d}  {post.rate / base.rate:5.2f}  "
              f"{1000 * post.cpu_per_request:5.1f}  {post.ceiling:8.0f}  {post.others:6.2f}")
    print_loss(check)
    best = carried(levels)
    verdict = "met" if best and not check.lost else "NOT met"
    where = (f"{best.clients} clients, {best.rate:.0f} reports/s, p99 {best.percentile(99):.0f} ms"
             if best else "no level")
    print(f"\nthe load two cores can carry (highest level with p99 < {P99_TARGET_MS} ms, no error): {where}")
    print(f"target (bench/README.md): no request lost, p99 < {P99_TARGET_MS} ms at that load: {verdict}")


def print_loss(check: LossCheck) -> None:
    queued = "" if check.queued is None else f"; verification messages queued: {check.queued:,}"
    print(f"\nno request lost: {check.created:,} answered 201, {check.stored:,} reports in the database, "
          f"{check.claims:,} claims{queued}")
    print(f"  201 but missing: {len(check.missing)}; stored with another owner or other claims: "
          f"{len(check.wrong)}; refused but stored: {check.refused_stored}; no answer but stored: "
          f"{check.unanswered_stored} -> {'LOST OR WRONG' if check.lost else 'nothing lost'}")


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    server = None
    try:
        filers, readers = build_world(ARGS.users)
        connections.close_all()  # gunicorn's workers open their own
        server = Server(TEMP_VAR_DIR / "gunicorn.log", workers=ARGS.workers, options=("--backlog", "2048"))
        server.wait_ready("/api/v1/reports/?page_size=1",
                          headers={"Authorization": f"Token {readers[0].token}"})
        run(Load(server, filers, readers))
    finally:
        if server is not None:
            server.stop()
        connections.close_all()
        clean_up()


def run(load: Load) -> None:
    print_header()
    top = max(ARGS.levels)
    warm = [load.run(kind, top, ARGS.warmup) for kind in ("get", "post")] if ARGS.warmup else []
    print(f"warm-up: {sum(len(w.outcomes) for w in warm)} requests at {top} clients, not in the figures")
    levels = []
    for clients in ARGS.levels:
        tries = [(load.run("get", clients, ARGS.seconds), load.run("post", clients, ARGS.seconds))
                 for _ in range(ARGS.repeat)]
        # On a shared machine keep, of each kind, the run other programs disturbed least (timeit keeps
        # its best for the same reason).
        levels.append(tuple(min(runs, key=lambda run: run.others) for runs in zip(*tries, strict=True)))
        print_level(*levels[-1])
    check = loss_check(load.outcomes, queued_messages())
    print_summary(levels, check)
    if any(run.errors for pair in levels for run in pair) or check.lost:
        print(f"\ngunicorn's log, last lines:\n{load.server.log_tail()}")


def print_header() -> None:
    db = settings.DATABASES["default"]
    broker = settings.CELERY_BROKER_URL.split("://", 1)[0]
    print(f"submit_load: gunicorn {version('gunicorn')}, {ARGS.workers} sync workers, "
          f"{len(os.sched_getaffinity(0))} cores (shared with this load generator and the database); "
          f"DEBUG=0; {connection.vendor} {Path(db['NAME']).name}; broker {broker} (no worker consuming); "
          f"{ARGS.seconds:g} s per run, best of {ARGS.repeat}; {ARGS.users} reporters; "
          f"1-3 claims per report (2 on average); closed loop, a new connection per request")


def clean_up() -> None:
    if SCRATCH_DB:
        pg_admin(ARGS.database_url, f'DROP DATABASE IF EXISTS "{SCRATCH_DB}" WITH (FORCE)')
    if settings.CELERY_BROKER_URL.startswith("redis"):
        client = redis_client()
        queue = settings.CELERY_TASK_DEFAULT_QUEUE
        # The queue's lists and kombu's binding keys: every key that carries the bench's queue name.
        keys = list(client.scan_iter(match=f"*{queue}*"))
        if keys:
            client.delete(*keys)
    shutil.rmtree(TEMP_VAR_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
