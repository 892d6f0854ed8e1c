"""Evidence files attached to reports: stored privately, checked, and reflected in the tier."""

import itertools
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from incidents.models import Evidence
from incidents.services import EvidenceFileError, evidence_attach
from tests.factories import IncidentFactory, ReportFactory, login_with_second_factor
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign
from verification.clients import dns
from verification.evidence import evidence_verify
from verification.models import CheckResult

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_dns(monkeypatch):
    """DNS is the internet edge: nothing is published for the test domains."""
    monkeypatch.setattr(dns, "dkim_txt_lookup", lambda name, **kwargs: None)


@pytest.fixture
def incident():
    incident = IncidentFactory()
    binance_with_archived_key(incident)
    return incident


def proven_report(incident, **fields):
    report = ReportFactory(incident=incident, exchange=incident.exchanges.get(), support_ticket_id="12345678",
                           contact_email="victim@example.org", claimed_loss_usd=Decimal("100"), **fields)
    report.claims.create(chain="eip155:1", tx_hash="0x" + f"{report.pk:064x}", status="verified",
                         checked_status="verified",
                         usd_value=Decimal("100"))
    return report


def attach_and_check(report, data: bytes, kind: str = "support_email") -> Evidence:
    evidence = evidence_attach(report=report, kind=kind, data=data, original_name="../../mail.eml")
    evidence_verify(evidence_id=evidence.pk)
    report.refresh_from_db()
    return evidence


def test_a_dkim_verified_ticket_mail_lifts_a_proven_report_to_t3(incident):
    report = proven_report(incident)

    evidence = attach_and_check(report, sign(build_mail(), key=rsa_key("binance-2022")))

    assert report.tier == "T3" and report.flags == []
    result = CheckResult.objects.get(evidence=evidence, check_name="dkim_signature")
    assert (result.outcome, result.raw["ticket_status"]) == ("pass", "dkim_verified")
    assert evidence.original_name == "mail.eml"
    assert evidence.file.name == f"{report.pk}/{evidence.sha256}"


def test_a_mail_altered_after_signing_is_flagged_forged_and_caps_the_tier(incident):
    report = proven_report(incident)
    forged = sign(build_mail(), key=rsa_key("binance-2022")).replace(b"looking into it", b"refunding you")

    attach_and_check(report, forged)

    assert report.flags == ["mail_forged"] and report.tier == "T1"


def test_the_later_report_citing_a_verified_ticket_gets_ticket_reused(incident):
    first = proven_report(incident, submitted_at=datetime(2022, 12, 1, tzinfo=UTC))
    later = proven_report(incident, submitted_at=datetime(2022, 12, 2, tzinfo=UTC))
    mail = sign(build_mail(), key=rsa_key("binance-2022"))

    attach_and_check(first, mail)
    attach_and_check(later, mail)

    first.refresh_from_db()
    assert first.tier == "T3"
    assert later.flags == ["ticket_reused"] and later.tier == "T1"


def test_the_earlier_reports_verified_ticket_wins_whichever_mail_was_checked_first(incident):
    first = proven_report(incident, submitted_at=datetime(2022, 12, 1, tzinfo=UTC))
    later = proven_report(incident, submitted_at=datetime(2022, 12, 2, tzinfo=UTC))
    mail = sign(build_mail(), key=rsa_key("binance-2022"))

    attach_and_check(later, mail)
    assert later.tier == "T3"  # alone, for now
    attach_and_check(first, mail)

    first.refresh_from_db()
    later.refresh_from_db()
    assert (first.tier, first.ticket_status) == ("T3", "dkim_verified")
    assert (later.tier, later.ticket_status, later.flags) == ("T1", "duplicate_ticket", ["ticket_reused"])


def test_a_ticket_id_merely_typed_in_an_earlier_report_does_not_flag_a_later_verified_mail(incident):
    typed = proven_report(incident, submitted_at=datetime(2022, 12, 1, tzinfo=UTC))  # cites it, no mail
    later = proven_report(incident, submitted_at=datetime(2022, 12, 2, tzinfo=UTC))

    attach_and_check(later, sign(build_mail(), key=rsa_key("binance-2022")))

    typed.refresh_from_db()
    assert (later.tier, later.ticket_status, later.flags) == ("T3", "dkim_verified", [])
    assert typed.flags == [] and typed.ticket_status == "none"


def test_a_mail_whose_key_nobody_publishes_is_key_unknown_not_forged(incident):
    report = proven_report(incident)

    attach_and_check(report, sign(build_mail(), key=rsa_key("unknown"), selector="s2030"))

    assert report.tier == "T2" and report.flags == []


@pytest.mark.parametrize(("kind", "data", "message"), [
    ("screenshot", b"<html><script>alert(1)</script></html>", "cannot be added as “Screenshot”"),
    ("screenshot", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "cannot be added as"),
    ("support_email", b"MZ\x90\x00\x03\x00\x00\x00 executable", "cannot be added as “Support-ticket email"),
    ("trade_export", b"", "between 1 byte"),
])
def test_an_upload_of_the_wrong_content_is_refused_and_nothing_is_stored(incident, kind, data, message):
    report = proven_report(incident)

    with pytest.raises(EvidenceFileError, match=message):
        evidence_attach(report=report, kind=kind, data=data, original_name="x.png")

    assert not Evidence.objects.exists()


def test_an_oversized_upload_is_refused(incident, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    report = proven_report(incident)

    with pytest.raises(EvidenceFileError, match="between 1 byte and 1024 bytes"):
        evidence_attach(report=report, kind="police_report", data=b"%PDF-1.7\n" + b"0" * 2000)


def binance_trades(*rows: str) -> bytes:
    return ("\ufeffDate(UTC),Pair,Side,Price,Executed,Amount,Fee\n" + "\n".join(rows) + "\n").encode()


PUMP_BUY = "2022-11-20 14:05:00,PUMPUSDT,BUY,0.5,20000PUMP,10000USDT,10USDT"


@pytest.fixture
def pump_price(incident):
    from verification.models import Price

    Price.objects.create(symbol="PUMP", date=datetime(2022, 11, 20).date(), usd=Decimal("0.01"))


def test_a_trade_export_that_only_agrees_with_its_claim_documents_but_proves_nothing(incident, pump_price):
    # Before the proof rule this export proved itself (T2): its owner can edit it, so now it documents (T1).
    report = ReportFactory(incident=incident, claimed_loss_usd=Decimal("9800"))

    evidence = attach_and_check(report, binance_trades(PUMP_BUY), kind="trade_export")

    assert (report.tier, report.verified_loss_usd) == ("T1", Decimal("0.00"))
    consistent = CheckResult.objects.get(evidence=evidence, check_name="trade_loss_consistent")
    assert (consistent.outcome, consistent.reasons, consistent.raw["claim_fits"]) == (
        "inconclusive", ["uncorroborated"], True)
    parsed = CheckResult.objects.get(evidence=evidence, check_name="export_parsed")
    assert parsed.raw["pair_hours"] == ["PUMP/USDT|2022-11-20T14:00:00+00:00"]


def test_a_trade_export_that_two_other_reporters_exports_corroborate_proves_the_loss(incident, pump_price):
    others = [ReportFactory(incident=incident) for _ in range(2)]
    for minute, other in zip((10, 20), others, strict=True):
        attach_and_check(other, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                         kind="trade_export")
    report = ReportFactory(incident=incident, claimed_loss_usd=Decimal("9800"))

    attach_and_check(report, binance_trades(PUMP_BUY), kind="trade_export")

    assert (report.tier, report.verified_loss_usd) == ("T2", Decimal("9810.00"))


def test_one_reporters_several_reports_do_not_corroborate_each_other(incident, pump_price):
    first = ReportFactory(incident=incident)
    same_person = [ReportFactory(incident=incident, reporter=first.reporter) for _ in range(2)]

    for minute, report in zip((10, 20, 30), [first, *same_person], strict=True):
        attach_and_check(report, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                         kind="trade_export")

    assert same_person[-1].tier == "T1"


def test_a_pump_pair_three_victims_traded_in_one_hour_proves_the_third(incident, pump_price):
    reports = [ReportFactory(incident=incident, claimed_loss_usd=Decimal("90000")) for _ in range(3)]

    for report in reports:
        attach_and_check(report, binance_trades(PUMP_BUY.replace("14:05", f"14:{10 + report.pk % 40:02d}")),
                         kind="trade_export")

    assert [r.tier for r in reports] == ["T1", "T1", "T2"]
    consistent = CheckResult.objects.get(report=reports[2], check_name="trade_loss_consistent")
    assert consistent.outcome == "pass"


def test_an_export_in_no_known_format_is_recorded_as_unreadable(incident):
    report = ReportFactory(incident=incident)

    evidence = attach_and_check(report, b"when,what\n2022-11-20,something\n", kind="trade_export")

    parsed = CheckResult.objects.get(evidence=evidence, check_name="export_parsed")
    assert (parsed.outcome, parsed.reasons) == ("fail", ["export_unreadable"])
    assert "binance" in parsed.raw["error"].lower()


def test_staff_read_a_mail_as_escaped_plain_text_and_others_cannot(client, incident):
    from tests.factories import UserFactory

    report = proven_report(incident)
    html_mail = build_mail(body="<p>Hello <script>alert(1)</script><img src='http://tracker.example/x.gif'></p>",
                           content_type="text/html; charset=utf-8")
    evidence = attach_and_check(report, sign(html_mail, key=rsa_key("binance-2022")))
    url = f"/evidence/{evidence.pk}/mail/"

    client.force_login(report.reporter)
    assert client.get(url).status_code == 404
    login_with_second_factor(client, UserFactory(is_staff=True))
    page = client.get(url).content.decode()

    assert "Hello" in page
    assert "<script>" not in page and "tracker.example" not in page
    assert "Ticket #12345678" in page
    # The headers the exchange's signature covers are marked; the others are not vouched for.
    assert '<dt>Subject <span class="badge">signed</span></dt>' in page


def test_the_export_that_completes_the_signature_gets_earlier_ones_judged_again(
    incident, pump_price, monkeypatch, django_capture_on_commit_callbacks
):
    import verification.trade_evidence as trade_evidence_module

    monkeypatch.setattr(trade_evidence_module, "evidence_verification_enqueue",
                        lambda *, evidence_id: evidence_verify(evidence_id=evidence_id))
    reports = [ReportFactory(incident=incident, claimed_loss_usd=Decimal("90000")) for _ in range(3)]

    for minute, report in zip((10, 20, 30), reports, strict=True):
        with django_capture_on_commit_callbacks(execute=True):
            attach_and_check(report, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                             kind="trade_export")

    for report in reports:
        report.refresh_from_db()
    assert [r.tier for r in reports] == ["T2", "T2", "T2"]


@pytest.fixture
def cascade(monkeypatch):
    """Run the re-checks an export queues for its partners at once (the worker's job, made synchronous)."""
    import verification.trade_evidence as trade_evidence_module

    monkeypatch.setattr(trade_evidence_module, "evidence_verification_enqueue",
                        lambda *, evidence_id: evidence_verify(evidence_id=evidence_id))


def test_a_forged_export_at_a_fantasy_price_on_the_attack_pair_fails_on_price(incident, pump_price):
    others = [ReportFactory(incident=incident) for _ in range(2)]
    for minute, other in zip((10, 20), others, strict=True):
        attach_and_check(other, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                         kind="trade_export")
    forger = ReportFactory(incident=incident, claimed_loss_usd=Decimal("99800"))

    evidence = attach_and_check(forger, binance_trades("2022-11-20 14:30:00,PUMPUSDT,BUY,5,20000PUMP,"
                                                       "100000USDT,10USDT"), kind="trade_export")

    consistent = CheckResult.objects.get(evidence=evidence, check_name="trade_loss_consistent")
    assert (consistent.outcome, consistent.reasons) == ("fail", ["price_off_market"])
    assert consistent.raw["off_market"][0]["against"] == "other_exports"
    assert (forger.tier, forger.verified_loss_usd) == ("T1", Decimal("0.00"))


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_the_verdicts_do_not_depend_on_the_order_exports_arrive_in(
    incident, pump_price, cascade, django_capture_on_commit_callbacks, order
):
    reports = [ReportFactory(incident=incident, claimed_loss_usd=Decimal("9800")) for _ in range(3)]
    files = [binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")) for minute in (10, 20, 30)]

    for index in order:
        with django_capture_on_commit_callbacks(execute=True):
            attach_and_check(reports[index], files[index], kind="trade_export")

    for report in reports:
        report.refresh_from_db()
    assert [(r.tier, r.verified_loss_usd) for r in reports] == [("T2", Decimal("9810.00"))] * 3


def test_a_report_with_two_files_of_the_same_trades_counts_the_loss_once(incident, pump_price, cascade,
                                                                           django_capture_on_commit_callbacks):
    for minute in (10, 20):
        other = ReportFactory(incident=incident)
        attach_and_check(other, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                         kind="trade_export")
    report = ReportFactory(incident=incident, claimed_loss_usd=Decimal("9800"))
    statement = (b"User_ID,UTC_Time,Account,Operation,Coin,Change,Remark\n"
                 b"1,2022-11-20 14:05:00,Spot,Transaction Buy,PUMP,20000,\n"
                 b"1,2022-11-20 14:05:00,Spot,Transaction Spend,USDT,-10000,\n"
                 b"1,2022-11-20 14:05:00,Spot,Transaction Fee,USDT,-10,\n")

    with django_capture_on_commit_callbacks(execute=True):
        attach_and_check(report, binance_trades(PUMP_BUY), kind="trade_export")
        second = attach_and_check(report, statement, kind="trade_export")

    report.refresh_from_db()
    repeated = CheckResult.objects.get(evidence=second, check_name="trade_loss_consistent")
    assert (repeated.outcome, repeated.raw["verified_loss_usd"], repeated.raw["already_counted"]) == (
        "pass", "0.00", 1)
    assert (report.tier, report.verified_loss_usd) == ("T2", Decimal("9810.00"))


def test_kraken_ledger_and_trades_files_of_three_victims_match_one_signature(incident):
    from verification.models import Price

    Price.objects.create(symbol="GBP", date=datetime(2022, 11, 20).date(), usd=Decimal("1.15"))
    ledger = ("txid,refid,time,type,subtype,aclass,asset,amount,fee,balance\n"
              "L1,R{n},2022-11-20 14:{m}:00,trade,,currency,ZGBP,-1000,0,0\n"
              "L2,R{n},2022-11-20 14:{m}:00,trade,,currency,USDT,1100,0,1100\n")
    trades = ("txid,ordertxid,pair,time,type,ordertype,price,cost,fee,vol,margin,misc,ledgers\n"
              "T{n},O{n},USDTGBP,2022-11-20 14:{m}:00,buy,market,0.909,1000,0,1100,0,,\n")
    reports = [ReportFactory(incident=incident) for _ in range(3)]

    for n, (report, layout) in enumerate(zip(reports, (ledger, trades, ledger), strict=True)):
        attach_and_check(report, layout.format(n=n, m=10 + n).encode(), kind="trade_export")

    consistent = CheckResult.objects.get(report=reports[2], check_name="trade_loss_consistent")
    assert (consistent.outcome, [m["pair"] for m in consistent.raw["matches"]]) == ("pass", ["GBP/USDT"])
    assert reports[2].verified_loss_usd == Decimal("50.00")


def test_withdrawing_a_corroborating_report_has_the_exports_it_proved_checked_again(
    incident, pump_price, cascade, django_capture_on_commit_callbacks, monkeypatch
):
    from incidents.services import report_withdraw
    from verification import tasks

    reports = [ReportFactory(incident=incident, claimed_loss_usd=Decimal("9800")) for _ in range(3)]
    for minute, report in zip((10, 20, 30), reports, strict=True):
        with django_capture_on_commit_callbacks(execute=True):
            attach_and_check(report, binance_trades(PUMP_BUY.replace("14:05", f"14:{minute}")),
                             kind="trade_export")
    queued = []
    monkeypatch.setattr(tasks, "evidence_verification_enqueue",
                        lambda *, evidence_id: queued.append(evidence_id))

    report_withdraw(report=reports[0])
    tasks.trade_exports_recheck()
    for evidence_id in queued:
        evidence_verify(evidence_id=evidence_id)

    remaining = Evidence.objects.filter(report__in=reports[1:]).values_list("pk", flat=True)
    assert sorted(queued) == sorted(remaining)
    for report in reports[1:]:
        report.refresh_from_db()
        assert (report.tier, report.verified_loss_usd) == ("T1", Decimal("0.00"))
