"""Web and workers need no shared disk: workers with folders of their own check files from the bucket,
and two workers on one broker, database and bucket check every report of a batch exactly once."""

import re
import time
import uuid
from contextlib import ExitStack
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime

import pytest

from config.celery import app as celery_app
from incidents.models import Report
from incidents.services import evidence_attach
from tests.conftest import ANVIL_CAIP2, _test_database_url, wait_for, worker_process
from tests.operations.conftest import other_host_env
from tests.s3 import bucket_keys
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign
from tests.verification.trade_files import BINANCE_TRADES, csv_bytes
from verification.models import CheckResult
from verification.tasks import verify_report_task

SUCCEEDED = re.compile(r"verify_report_task\[([0-9a-f-]+)\] succeeded")
pytestmark = [pytest.mark.worker, pytest.mark.chain, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def own_queue():
    """A base queue for this test's workers only."""
    base, saved = f"hosts-{uuid.uuid4().hex[:8]}", celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = base
    yield base
    celery_app.conf.task_default_queue = saved


@pytest.fixture
def world(anvil, settings):
    from tests.verification.conftest import build_world

    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    world = build_world(anvil)
    binance_with_archived_key(world.incident)
    return world


def start_workers(stack: ExitStack, *, count: int, queue: str, tmp_path, bucket, anvil) -> list:
    """Start ``count`` workers, each with a var folder of its own, as if on separate hosts."""
    workers = []
    for n in range(count):
        folder = tmp_path / f"host-{n}"
        env = other_host_env(folder=folder, endpoint=bucket.endpoint_url, prefix=bucket.prefix,
                             database_url=_test_database_url(), rpc=f"{ANVIL_CAIP2}={anvil.url}")
        log = tmp_path / f"worker-{n}.log"
        workers.append((folder, log, stack.enter_context(
            worker_process(queue=queue, env={**env, "CELERY_TASK_DEFAULT_QUEUE": queue}, log_path=log))))
    return workers


def test_a_worker_on_another_host_checks_a_mail_and_an_export_from_the_bucket(
        world, bucket, own_queue, anvil, tmp_path):
    tx = world.send_eth(world.victims[0], world.attackers[0], "0.5")
    report = world.report({"tx_hash": tx, "asset": "ETH", "amount": Decimal("0.5")},
                          exchange=world.incident.exchanges.get(), support_ticket_id="12345678",
                          contact_email="victim@example.org")
    mail = sign(build_mail(date=format_datetime(datetime.now(UTC))), key=rsa_key("binance-2022"))
    export = csv_bytes([BINANCE_TRADES, ["2022-11-15 13:45:10", "BTCUSDT", "BUY", "20000", "0.5BTC",
                                         "10000USDT", "0.01BNB"]])

    with ExitStack() as stack:
        [(folder, _log, _process)] = start_workers(stack, count=1, queue=own_queue, tmp_path=tmp_path,
                                                   bucket=bucket, anvil=anvil)
        mail_row = evidence_attach(report=report, kind="support_email", data=mail)
        export_row = evidence_attach(report=report, kind="trade_export", data=export)
        dkim = wait_for(lambda: CheckResult.objects.filter(evidence=mail_row, check_name="dkim_signature")
                        .first(), timeout=90)
        parsed = wait_for(lambda: CheckResult.objects.filter(evidence=export_row, check_name="export_parsed")
                          .first(), timeout=90)

    assert (dkim.outcome, dkim.raw.get("ticket_status")) == ("pass", "dkim_verified")
    assert parsed.outcome == "pass"
    assert len(bucket_keys(bucket)) == 2
    assert not list((folder / "evidence").rglob("*"))  # the worker's own folder holds nothing


def test_two_workers_with_their_own_folders_check_every_report_exactly_once(
        world, bucket, own_queue, anvil, tmp_path, monkeypatch):
    monkeypatch.setattr(verify_report_task, "delay", lambda *a, **k: None)  # sent below, with known ids
    reports = [world.report({"tx_hash": world.send_eth(world.victims[n % 4], world.attackers[n % 2],
                                                       f"0.0{n + 1}"), "asset": "ETH"})
               for n in range(12)]

    with ExitStack() as stack:
        workers = start_workers(stack, count=2, queue=own_queue, tmp_path=tmp_path, bucket=bucket,
                                anvil=anvil)
        task_ids = {verify_report_task.apply_async((report.pk,)).id: report.pk for report in reports}
        waiting = Report.objects.filter(pk__in=task_ids.values(), status__in=["submitted", "checking"])
        wait_for(lambda: not waiting.exists(), timeout=120)
        time.sleep(3)  # room for a second delivery of any message to show up before the workers stop
        logs = [log.read_text() for _folder, log, _process in workers]

    runs = [task for text in logs for task in SUCCEEDED.findall(text)]
    assert sorted(runs) == sorted(task_ids)  # every report's task ran once, none twice
    assert {Report.objects.get(pk=pk).tier for pk in task_ids.values()} == {"T2"}
    assert not [path for folder, _log, _p in workers for path in (folder / "evidence").rglob("*")]
