"""The dashboard agrees with the register: a sheet verified against anvil by the real worker, exported,
published, and every figure of the stats API and of each chart's CSV recomputed from the files."""

import csv
import io
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import Role
from dashboards.services import summary_mark_stale_for_reports
from incidents.models import Exchange, Report, ReportStatus
from registry.services import release_publish
from registry.stats import Fact
from tests.conftest import ANVIL_CAIP2, wait_for
from tests.dashboards.conftest import CANARY_EXCHANGE
from tests.factories import UserFactory
from tests.verification.conftest import build_world

pytestmark = pytest.mark.django_db(transaction=True)
CHARTS = ("losses-over-time", "by-exchange", "by-asset", "attacker-addresses", "by-tier", "by-status",
          "verification", "exchange-responses", "funnel")


def sheet_rows(world) -> list[str]:
    """Rows of a crowdsourced sheet: real transfers to attackers, bogus hashes, bare claims."""
    rows, n = [], 0
    plan = [("Binance", 7, "eth"), ("Kraken", 3, "eth"), ("Kraken", 3, "token"), (CANARY_EXCHANGE, 4, "eth"),
            ("OKX", 5, "eth"),
            ("Binance", 2, "bogus"), ("Kraken", 1, "none")]
    for exchange, count, kind in plan:
        for _ in range(count):
            victim, attacker = world.victims[n % 4], world.attackers[n % 2]
            if kind == "eth":
                tx = world.send_eth(victim, attacker, f"0.{n + 1:02d}")
            elif kind == "token":
                tx = world.send_token(victim, attacker, str(100 + n))
            else:
                tx = "" if kind == "none" else "0x" + f"{n:02x}" * 32
            police = f"PR-{n}" if n % 3 == 0 else ""
            ticket = f"{10000000 + n}" if n % 4 == 0 else ""
            rows.append(f"Victim {n},v{n}@example.org,{exchange},{200 + 10 * n},2022-11-20,{ANVIL_CAIP2},"
                        f"{victim},{tx},{ticket},,{police},")
            n += 1
    return rows


def read(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def money(values) -> Decimal:
    return sum((Decimal(v or "0") for v in values), Decimal("0"))


@pytest.fixture
def verified_register(transactional_db, anvil, settings, tmp_path, signing_key, celery_worker):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    world = build_world(anvil)
    world.incident.slug = "agreement"  # build_world's own slug holds a dot, which no URL takes
    world.incident.save()
    for name in ("Binance", "Kraken", "OKX", CANARY_EXCHANGE):
        Exchange.objects.create(incident=world.incident, name=name, support_domains=["x.example"])
    sheet = tmp_path / "victims.csv"
    header = ("reporter,contact_email,exchange,claimed_loss_usd,loss_date,chain,victim_address,tx_hashes,"
              "support_ticket_id,evidence_files,police_report,notes")
    sheet.write_text("\n".join([header, *sheet_rows(world)]) + "\n")
    call_command("import_reports", str(sheet), "--incident", world.incident.slug, verbosity=0)
    call_command("verify", "--incident", world.incident.slug, "--wait", "--timeout", "120",
                 stdout=io.StringIO())
    out = tmp_path / "register"
    call_command("export_register", "--incident", world.incident.slug, "--out", str(out), verbosity=0)
    release = release_publish(incident=world.incident)
    return world.incident, read(out / "reports.csv"), read(out / "claims.csv"), release


def test_the_stats_and_every_chart_agree_with_the_register_of_the_same_moment(verified_register, client):
    incident, reports, claims, release = verified_register
    base = f"/incidents/{incident.slug}/charts"
    stats = client.get(f"/api/v1/incidents/{incident.slug}/stats/").json()
    charts = {name: read_text(client.get(f"{base}/{name}.csv").content.decode()) for name in CHARTS}

    assert stats["release"] == release.number and stats["reports"] == len(reports) == 25
    assert Decimal(stats["claimed_loss_usd"]) == money(r["claimed_loss_usd"] for r in reports)
    assert Decimal(stats["verified_loss_usd"]) == money(r["verified_loss_usd"] for r in reports) > 0
    assert stats["by_tier"] == {t: Counter(r["tier"] for r in reports)[t] for t in stats["by_tier"]}
    assert {k: v for k, v in stats["by_status"].items() if v} == dict(Counter(r["status"] for r in reports))
    assert stats["police_reports"] == sum(r["police_report_cited"] == "yes" for r in reports) == 9
    assert stats["funnel"]["imported"] == len(reports)
    assert stats["funnel"]["loss_proven"] == sum(r["tier"] >= "T2" for r in reports) >= 19
    _exchanges_agree(stats, charts, reports)
    _addresses_agree(stats, charts, claims)
    _partitions_add_up(stats, charts)
    assert {row["measure"]: int(row["reports"]) for row in charts["verification"]}["police_reports"] == 9
    assert {row["tier"]: int(row["reports"]) for row in charts["by-tier"]} == stats["by_tier"]
    _assets_found_on_chain(stats, claims, release)


def _assets_found_on_chain(stats, claims, release) -> None:
    """The sheet names no asset: the dashboard groups by what the check found, the register keeps it empty."""
    assert {claim["asset"] for claim in claims} == {""}
    assert Counter(Fact(*fact).asset for fact in release.facts) == {"ETH": 19, "TUSD": 3, None: 3}
    named = [row["asset"] for row in stats["by_asset"] if not row.get("other")]
    assert named == ["ETH"] and stats["by_asset"][-1]["reports"] == 6  # TUSD (3) and none found (3)


def read_text(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def _exchanges_agree(stats, charts, reports) -> None:
    groups = defaultdict(list)
    for row in reports:
        groups[row["exchange"]].append(row)
    named = {row["exchange"]: row for row in charts["by-exchange"] if row["other"] == "no"}
    # The canary exchange (4 reports) is folded, with the smallest named one (OKX, 5) so that
    # the total minus the named rows never gives its 4 reports away.
    assert set(named) == {"Binance", "Kraken"}
    for name, row in named.items():
        assert int(row["reports"]) == len(groups[name])
        assert Decimal(row["claimed_loss_usd"]) == money(r["claimed_loss_usd"] for r in groups[name])
        assert Decimal(row["verified_loss_usd"]) == money(r["verified_loss_usd"] for r in groups[name])
    assert [int(r["reports"]) for r in charts["exchange-responses"]] == [int(r["reports"])
                                                                          for r in charts["by-exchange"]]
    folded = groups[CANARY_EXCHANGE] + groups["OKX"]
    assert stats["by_exchange"][-1] == {"other": True, "reports": 9, **{
        k: f"{money(r[k] for r in folded):.2f}" for k in ("claimed_loss_usd", "verified_loss_usd")}}


def _addresses_agree(stats, charts, claims) -> None:
    inflow = defaultdict(Decimal)
    for claim in claims:
        if claim["status"] == "verified" and claim["kind"] == "transfer":
            inflow[claim["to_address"]] += Decimal(claim["usd_value"] or "0")
    shown = {row["address"]: Decimal(row["verified_loss_usd"]) for row in charts["attacker-addresses"]
             if row["other"] == "no"}
    assert shown and all(inflow[address] == value for address, value in shown.items())
    assert money(r["verified_loss_usd"] for r in stats["attacker_addresses"]) == sum(inflow.values())


def _partitions_add_up(stats, charts) -> None:
    for name in ("losses-over-time", "by-exchange", "by-asset"):
        rows = charts[name]
        assert sum(int(r["reports"]) for r in rows) == stats["reports"]
        for column in ("claimed_loss_usd", "verified_loss_usd"):
            assert money(r[column] for r in rows) == Decimal(stats[column])
        assert all(int(r["reports"]) >= 5 for r in rows)


def without_time(stats: dict) -> dict:
    return {k: v for k, v in stats.items() if k not in ("as_of", "release", "preview")}


def test_a_decision_reaches_the_journalists_preview_through_the_worker_and_not_the_public(
        verified_register, client):
    incident, _reports, _claims, _release = verified_register
    api = f"/api/v1/incidents/{incident.slug}/stats/"
    public = client.get(api).json()
    assert client.get(api, {"preview": "1"}).status_code == 403  # the public never sees live numbers
    client.force_login(UserFactory(role=Role.JOURNALIST))
    preview = client.get(api, {"preview": "1"}).json()
    assert preview["preview"] is True and without_time(preview) == without_time(public)

    report = Report.objects.filter(incident=incident, tier="T2").first()
    with transaction.atomic():  # what the moderators' decision service does, then tells the dashboard
        Report.objects.filter(pk=report.pk).update(status=ReportStatus.VERIFIED, decided_at=timezone.now(),
                                                   decision_reason="proof_sufficient")
        summary_mark_stale_for_reports(report_ids=[report.pk])

    wait_for(lambda: client.get(api, {"preview": "1"}).json()["by_status"]["verified"]
             == public["by_status"]["verified"] + 1, timeout=60)
    client.logout()
    assert client.get(api).json() == public
