"""A report erased while its checks run leaves nothing behind and fails no task."""

import threading

import pytest
from django.db import connection

from incidents.models import Report
from incidents.services import report_withdraw
from tests.conftest import ANVIL_CAIP2
from tests.verification.conftest import build_world, rpc_proxy
from verification.models import CheckResult
from verification.services import reports_verify

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]


def test_a_report_withdrawn_while_its_chain_is_read_is_skipped_not_failed(anvil, settings):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    world = build_world(anvil)
    report = world.report({"tx_hash": world.send_eth(world.victims[0], world.attackers[0], "1")})

    def withdraw() -> None:
        try:
            report_withdraw(report=Report.objects.get(pk=report.pk))
        finally:
            connection.close()

    with rpc_proxy(anvil.url, delay=0.5) as (slow_url, _):
        settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [slow_url]}
        eraser = threading.Timer(0.2, withdraw)  # while the chain is being read
        eraser.start()
        reports_verify(report_ids=[report.pk])
        eraser.join()

    assert not Report.objects.filter(pk=report.pk).exists()
    assert not CheckResult.objects.filter(report_id=report.pk).exists()
