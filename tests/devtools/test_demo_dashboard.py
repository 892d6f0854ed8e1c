"""The demo gives the dashboard something to show: a crowd over exchanges, assets and days, a release."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management.base import CommandError

from devtools.chain import anvil_start
from devtools.demo import SLUG, demo_seed
from devtools.demo_dashboard import demo_crowd_clear, demo_crowd_seed, demo_decide_and_publish
from incidents.models import Evidence, EvidenceKind, Incident, Report
from tests.conftest import ANVIL_CAIP2
from tests.registry.conftest import signing_key  # noqa: F401 (a fixture)
from verification import tasks
from verification.evidence import evidence_verify
from verification.models import Price
from verification.services import reports_verify

pytestmark = pytest.mark.django_db


@pytest.fixture
def anvil():
    """A node of this test's own: the crowd moves the chain's clock days ahead, which would put every
    later test's transfers outside its incident window on the session's shared node."""
    node = anvil_start()
    yield node
    node.stop()


@pytest.mark.usefixtures("signing_key")
def test_the_demo_publishes_a_release_with_named_exchanges_assets_and_days(anvil, tmp_path, settings,
                                                                         monkeypatch):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    monkeypatch.setattr(tasks.verify_reports_task, "delay", lambda ids: None)
    demo_seed(node=anvil, out_dir=tmp_path)
    on_this_chain(anvil)  # the session's node runs on today's clock, not the demo's 2022 genesis
    journalist = demo_crowd_seed(node=anvil, out_dir=tmp_path)
    reports_verify(report_ids=list(Report.objects.filter(incident__slug=SLUG).values_list("pk", flat=True)))
    for mail in Evidence.objects.filter(report__incident__slug=SLUG, kind=EvidenceKind.SUPPORT_EMAIL):
        evidence_verify(evidence_id=mail.pk)  # what the worker does once the upload commits

    release = demo_decide_and_publish()

    stats = release.stats
    assert stats["reports"] >= 40 and journalist.password
    assert len([r for r in stats["by_exchange"] if not r.get("other")]) >= 4
    # The sheet's rows count under the asset their check found; the reports naming none fill a
    # row of their own, so no named asset is folded to hide them.
    assert {r.get("asset") for r in stats["by_asset"]} >= {"ETH", "USDT"}
    assert sum(r["reports"] for r in stats["by_asset"]) == stats["reports"]
    assert len([r for r in stats["by_day"] if not r.get("other")]) >= 3
    # Two more reports cite one crowd transfer; they show as contested once verification flags
    # tx_contested (the binding work), which this test leaves to that work's own tests.
    assert stats["funnel"]["imported"] >= 20 and stats["funnel"]["decided_verified"]
    assert stats["by_status"]["verified"] and stats["by_status"]["rejected"]
    assert stats["tickets"]["attested"] and stats["police_reports"]
    # Five victims kept only the support desk's reply: real DKIM signatures, checked against the
    # key the demo archived for each exchange's domain.
    assert stats["tickets"]["dkim_verified"] == 5
    assert "Bitstamp" not in str(stats) and "Bybit" not in str(stats)  # 3 and 2 reports: folded
    assert stats["by_exchange"][-1]["other"] and stats["by_exchange"][-1]["reports"] == 5


def on_this_chain(anvil) -> None:
    """Move the demo incident's window and prices to the node's clock (four days of transfers)."""
    latest = anvil.rpc.call("eth_getBlockByNumber", "latest", False)
    today = datetime.fromtimestamp(int(latest["timestamp"], 16), tz=UTC)
    Incident.objects.filter(slug=SLUG).update(window_start=today - timedelta(days=1),
                                              window_end=today + timedelta(days=10))
    for offset in range(8):
        for symbol, usd in (("ETH", Decimal("1300")), ("USDT", Decimal("1"))):
            Price.objects.update_or_create(symbol=symbol, date=(today + timedelta(days=offset)).date(),
                                           defaults={"usd": usd})


def test_a_second_demo_run_replaces_the_first_runs_crowd(anvil, tmp_path, settings, monkeypatch):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    monkeypatch.setattr(tasks.verify_reports_task, "delay", lambda ids: None)
    demo_seed(node=anvil, out_dir=tmp_path)
    demo_crowd_seed(node=anvil, out_dir=tmp_path)
    crowd = Report.objects.filter(incident__slug=SLUG).count()

    with pytest.raises(CommandError, match="cannot be removed"):  # the crowd's exchanges are cited
        demo_seed(node=anvil, out_dir=tmp_path)
    demo_crowd_clear()
    demo_seed(node=anvil, out_dir=tmp_path)
    demo_crowd_seed(node=anvil, out_dir=tmp_path)

    assert Report.objects.filter(incident__slug=SLUG).count() == crowd
