"""Round trip: a sheet written here is imported, verified against anvil, exported and checked."""

import csv
from decimal import Decimal

import pytest
from django.core.management import call_command

from incidents.models import Report
from registry.exports import report_ref
from tests.conftest import ANVIL_CAIP2
from tests.verification.conftest import build_world
from verification.services import reports_verify

pytestmark = pytest.mark.django_db


def test_an_imported_sheet_comes_out_verified_in_a_release_that_checks(anvil, settings, tmp_path, signing_key,
                                                                       monkeypatch):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    monkeypatch.setattr("verification.tasks.verify_reports_task.delay", lambda ids: None)
    world = build_world(anvil)
    paid = world.send_eth(world.victims[0], world.attackers[0], "1")
    sheet = tmp_path / "victims.csv"
    sheet.write_text(
        "reporter,contact_email,exchange,claimed_loss_usd,loss_date,chain,victim_address,tx_hashes\n"
        f"Ann,ann@example.org,,2000,2022-11-20,eip155:31337,{world.victims[0]},https://etherscan.io/tx/{paid}\n"
        f"Bob,bob@example.org,,500,2022-11-21,eip155:31337,,{'0x' + '77' * 32}\n"
    )

    call_command("import_reports", str(sheet), "--incident", world.incident.slug, verbosity=0)
    imported = Report.objects.filter(incident=world.incident).order_by("source_row")
    ids = list(imported.values_list("id", flat=True))
    reports_verify(report_ids=ids)
    out = tmp_path / "release"
    call_command("export_register", "--incident", world.incident.slug, "--out", str(out), verbosity=0)
    call_command("check_release", str(out), verbosity=0)

    rows = list(csv.DictReader((out / "reports.csv").open(encoding="utf-8")))
    assert [(r["report_ref"], r["source"]) for r in rows] == [
        (report_ref(ids[0]), "victims.csv:2"), (report_ref(ids[1]), "victims.csv:3")]
    assert (rows[0]["tier"], Decimal(rows[0]["verified_loss_usd"]), rows[0]["transfers_verified"]) == (
        "T2", Decimal("2000.00"), "1")
    assert (rows[1]["tier"], rows[1]["flags"]) == ("T1", "tx_not_found")
    exported = "".join(p.read_text(errors="ignore") for p in out.glob("*.csv"))
    assert "ann@example.org" not in exported and "Ann" not in exported
