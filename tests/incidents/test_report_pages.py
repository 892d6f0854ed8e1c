"""The reporter's own pages: their reports, checks in plain words, files, answers and withdrawal."""

import io
import re
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import ExifTags, Image

from accounts.models import Role
from incidents import hooks
from incidents.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Evidence,
    Report,
    ReportMessage,
    ReportStatus,
    Tier,
)
from incidents.services import evidence_attach, report_question_ask, report_withdraw
from incidents.uploads import MULTIPART_MARGIN_BYTES
from tests.conftest import stored_names
from tests.factories import (
    ClaimFactory,
    ExchangeFactory,
    ReportFactory,
    UserFactory,
    login_with_second_factor,
)
from verification.evidence import evidence_verify
from verification.models import CheckResult

pytestmark = pytest.mark.django_db

NOON = datetime(2022, 11, 20, 12, tzinfo=UTC)
SEED = "legal winner thank year wave sausage worth useful legal winner thank yellow"
TRADE_EXPORT = b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n2022-11-20 10:00:00,PUMPBTC,BUY,1,1,1,0\n"


@pytest.fixture
def reporter():
    return UserFactory(role=Role.REPORTER)


@pytest.fixture
def other_reporter():
    return UserFactory(role=Role.REPORTER)


@pytest.fixture
def moderator():
    return UserFactory(role=Role.MODERATOR, is_staff=True)


@pytest.fixture
def report(reporter):
    exchange = ExchangeFactory(name="Binance")
    return ReportFactory(reporter=reporter, incident=exchange.incident, exchange=exchange,
                         status=ReportStatus.NEEDS_REVIEW, tier=Tier.T1)


@pytest.fixture
def owner(client, reporter):
    client.force_login(reporter)
    return client


def check(report, name, outcome, reasons=(), **subject):
    return CheckResult.objects.create(report=report, check_name=name, outcome=outcome, reasons=list(reasons),
                                      started_at=NOON, finished_at=NOON, **subject)


def jpeg_with_gps() -> bytes:
    """A small photo whose EXIF says where it was taken, as phones write it."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update({ExifTags.GPS.GPSLatitudeRef: "N", ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
                ExifTags.GPS.GPSLongitudeRef: "E", ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0)})
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="JPEG", exif=exif)
    return out.getvalue()


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def stored_files(storage) -> list[str]:
    return stored_names(storage)


# --- The report page --------------------------------------------------------------------------


def test_my_reports_lists_my_reports_only_with_status_and_tier(owner, report, other_reporter):
    theirs = ReportFactory(reporter=other_reporter, incident=report.incident)

    page = owner.get(reverse("incidents:my-reports")).content.decode()

    assert reverse("incidents:report-detail", args=[report.pk]) in page
    assert reverse("incidents:report-detail", args=[theirs.pk]) not in page
    assert "Needs review" in page and "T1 documented" in page
    assert reverse("incidents:draft-start") in page


def test_the_owner_reads_the_checks_in_plain_words_with_the_tier_and_what_comes_next(owner, report):
    claim = ClaimFactory(report=report, status=ClaimStatus.MISMATCH, reasons=["recipient_not_attacker"])
    check(report, "tx_exists", "pass", claim=claim)
    check(report, "recipient_is_attacker", "fail", ["recipient_not_attacker"], claim=claim)

    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()

    assert "The transaction exists on the chain." in page
    assert "It did not go to a known attacker address." in page
    assert "The receiving address is not on the incident&#x27;s attacker list." in page
    assert "Documented: at least one checkable reference" in page
    assert "would raise this report to T2" in page
    assert reverse("verification:report-ownership", args=[report.pk]) in page


def test_a_proven_loss_is_told_that_a_support_mail_would_raise_it_to_t3(owner, report):
    Report.objects.filter(pk=report.pk).update(tier=Tier.T2, verified_loss_usd=900)
    ClaimFactory(report=report, status=ClaimStatus.VERIFIED, usd_value=900)

    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()

    assert "Loss proven" in page
    assert "A support email from Binance about your ticket, forwarded as an .eml file" in page
    assert "to T3" in page


def test_a_fraud_flag_is_explained_and_said_to_cap_the_tier(owner, report):
    Report.objects.filter(pk=report.pk).update(flags=["ticket_reused"])

    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()

    assert "already verified for a report submitted earlier" in page
    assert "cannot rise above T1" in page


def other_reporters_requests(report, evidence):
    report_urls = {name: reverse(f"incidents:{name}", args=[report.pk])
                   for name in ("report-detail", "report-checks", "report-evidence-add", "report-answer",
                                "report-withdraw")}
    evidence_urls = {name: reverse(f"incidents:{name}", args=[evidence.pk])
                     for name in ("evidence-download", "evidence-preview")}
    return [
        ("get", report_urls["report-detail"], {}),
        ("get", report_urls["report-checks"], {}),
        ("post", report_urls["report-evidence-add"], {"kind": "trade_export",
                                                      "file": upload("t.csv", TRADE_EXPORT)}),
        ("post", report_urls["report-answer"], {"body": "my answer"}),
        ("get", report_urls["report-withdraw"], {}),
        ("post", report_urls["report-withdraw"], {"confirm": "on"}),
        ("get", evidence_urls["evidence-download"], {}),
        ("get", evidence_urls["evidence-preview"], {}),
    ]


def test_another_reporter_gets_404_on_every_page_and_file_of_my_report(client, report, other_reporter):
    evidence = evidence_attach(report=report, kind="screenshot", data=jpeg_with_gps(), original_name="a.jpg")
    client.force_login(other_reporter)

    for method, url, data in other_reporters_requests(report, evidence):
        assert getattr(client, method)(url, data).status_code == 404, f"{method} {url}"

    assert Report.objects.filter(pk=report.pk).exists()
    assert report.evidence.count() == 1 and not report.messages.exists()


def test_an_anonymous_visitor_is_sent_to_log_in(client, report):
    url = reverse("incidents:report-detail", args=[report.pk])

    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login")) and "next=" in response.url


# --- Live checks ------------------------------------------------------------------------------


def test_the_checks_partial_polls_while_checks_are_pending_and_stops_when_they_are_done(owner, report):
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.CHECKING)
    claim = ClaimFactory(report=report)
    url = reverse("incidents:report-checks", args=[report.pk])

    pending = owner.get(url).content.decode()
    assert 'hx-trigger="every 3s"' in pending
    assert "Refresh" in pending

    Claim.objects.filter(pk=claim.pk).update(status=ClaimStatus.VERIFIED)
    check(report, "tx_exists", "pass", claim=claim)
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.NEEDS_REVIEW, tier=Tier.T2)
    done = owner.get(url).content.decode()

    assert "hx-trigger" not in done
    assert "Loss proven" in done


def test_the_checks_partial_answers_no_content_while_nothing_changed(owner, report):
    Report.objects.filter(pk=report.pk).update(status=ReportStatus.CHECKING)
    url = reverse("incidents:report-checks", args=[report.pk])
    version = re.search(r'\?v=([0-9a-f]+)"', owner.get(url).content.decode()).group(1)

    assert owner.get(url, {"v": version}).status_code == 204

    Report.objects.filter(pk=report.pk).update(tier=Tier.T2)
    assert owner.get(url, {"v": version}).status_code == 200


def test_a_change_of_status_or_tier_is_announced_in_a_live_region_that_stays_in_place(owner, report):
    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()
    update = owner.get(reverse("incidents:report-checks", args=[report.pk]), headers={"HX-Request": "true"})

    assert re.search(r'<section id="report-standing"[^>]* aria-live="polite"', page)
    assert "hx-swap-oob" not in page
    # htmx replaces the content of the live region, not the region itself, so the change is read out.
    assert re.search(r'<section id="report-standing"[^>]* hx-swap-oob="innerHTML"', update.content.decode())


def test_an_evidence_file_without_automatic_checks_does_not_keep_the_page_polling(owner, report):
    evidence_attach(report=report, kind="police_report", data=jpeg_with_gps())

    partial = owner.get(reverse("incidents:report-checks", args=[report.pk])).content.decode()

    assert "hx-trigger" not in partial
    assert "A moderator reads this file" in partial


# --- Adding evidence later --------------------------------------------------------------------


def test_a_file_added_later_is_stored_queued_and_its_checks_show_up(
        owner, report, private_evidence_storage, django_capture_on_commit_callbacks):
    url = reverse("incidents:report-evidence-add", args=[report.pk])

    with django_capture_on_commit_callbacks() as callbacks:
        response = owner.post(url, {"kind": "trade_export", "file": upload("history.csv", TRADE_EXPORT)})

    assert response.status_code == 302
    evidence = Evidence.objects.get(report=report)
    assert evidence.original_name == "history.csv"
    with private_evidence_storage.open(evidence.file.name, "rb") as handle:
        assert handle.read() == TRADE_EXPORT
    assert [(c.func, c.keywords) for c in callbacks] == [
        (hooks.evidence_stored, {"evidence_id": evidence.pk})]
    checks_url = reverse("incidents:report-checks", args=[report.pk])
    assert 'hx-trigger="every 3s"' in owner.get(checks_url).content.decode()

    evidence_verify(evidence_id=evidence.pk)  # what the queued task runs

    partial = owner.get(checks_url).content.decode()
    assert "hx-trigger" not in partial
    assert "Export readable" in partial


def test_an_upload_larger_than_the_limit_is_refused_with_413_before_anything_is_stored(
        owner, report, settings, private_evidence_storage):
    settings.EVIDENCE_MAX_BYTES = 4096
    url = reverse("incidents:report-evidence-add", args=[report.pk])
    huge = b"a,b\n" * ((4096 + MULTIPART_MARGIN_BYTES) // 4 + 1)

    response = owner.post(url, {"kind": "trade_export", "file": upload("huge.csv", huge)})

    assert response.status_code == 413
    assert "larger than" in response.content.decode()
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


def test_a_file_just_over_the_limit_is_refused_with_413_too(
        owner, report, settings, private_evidence_storage):
    settings.EVIDENCE_MAX_BYTES = 4096
    url = reverse("incidents:report-evidence-add", args=[report.pk])

    response = owner.post(url, {"kind": "trade_export", "file": upload("big.csv", b"a,b\n" * 1100)})

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


def test_html_disguised_as_a_picture_is_refused_with_a_message_next_to_the_field(
        owner, report, private_evidence_storage):
    url = reverse("incidents:report-evidence-add", args=[report.pk])
    html = b"<html><body><script>alert(document.cookie)</script></body></html>"

    response = owner.post(url, {"kind": "screenshot", "file": upload("photo.png", html)})

    page = response.content.decode()
    assert response.status_code == 400
    assert 'id="id_file_error"' in page and "cannot be added as “Screenshot”" in page
    assert 'aria-invalid="true"' in page
    assert "<script>alert" not in page
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


# --- Answering a moderator --------------------------------------------------------------------


def test_answering_a_moderators_question_stores_it_and_hands_the_report_back(owner, report, moderator):
    report_question_ask(report=report, moderator=moderator, body="Which wallet sent the second transfer?")
    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()
    assert "Which wallet sent the second transfer?" in page and "Send the answer" in page

    response = owner.post(reverse("incidents:report-answer", args=[report.pk]),
                          {"body": "My hardware wallet, 0xabc…"})

    assert response.status_code == 302
    answer = ReportMessage.objects.get(report=report, from_moderator=False)
    assert answer.body == "My hardware wallet, 0xabc…" and answer.author_id == report.reporter_id
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW


def test_a_seed_phrase_in_an_answer_is_refused_and_never_stored_or_echoed(owner, report, moderator):
    report_question_ask(report=report, moderator=moderator, body="Anything else?")

    response = owner.post(reverse("incidents:report-answer", args=[report.pk]), {"body": f"my words: {SEED}"})

    page = response.content.decode()
    assert response.status_code == 400
    assert "seed phrase" in page
    assert SEED not in page
    assert not ReportMessage.objects.filter(report=report, from_moderator=False).exists()
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_INFO


# --- Withdrawing ------------------------------------------------------------------------------


def test_withdrawing_asks_first_and_erases_everything_only_when_confirmed(
        owner, report, private_evidence_storage, django_capture_on_commit_callbacks):
    claim = ClaimFactory(report=report)
    check(report, "tx_exists", "pass", claim=claim)
    evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT)
    url = reverse("incidents:report-withdraw", args=[report.pk])

    confirm_page = owner.get(url).content.decode()
    assert "final" in confirm_page and "every file you uploaded" in confirm_page

    unconfirmed = owner.post(url, {})
    assert "Tick the box to confirm" in unconfirmed.content.decode()
    assert Report.objects.filter(pk=report.pk).exists() and len(stored_files(private_evidence_storage)) == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = owner.post(url, {"confirm": "on"})

    assert response.status_code == 302 and response.url == reverse("incidents:my-reports")
    assert not Report.objects.filter(pk=report.pk).exists()
    for model in (Claim, Evidence, CheckResult):
        assert not model.objects.filter(report_id=report.pk).exists()
    assert not stored_files(private_evidence_storage)
    assert "withdrawn and erased" in owner.get(response.url).content.decode()
    assert owner.get(reverse("incidents:report-detail", args=[report.pk])).status_code == 404


# --- Files ------------------------------------------------------------------------------------


def test_a_download_is_the_exact_original_as_an_attachment_that_never_runs(owner, report):
    data = jpeg_with_gps()
    evidence = evidence_attach(report=report, kind="screenshot", data=data, original_name='../"evil"\r\n.jpg')

    response = owner.get(reverse("incidents:evidence-download", args=[evidence.pk]))

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert response["Content-Type"] == "application/octet-stream"
    disposition = response["Content-Disposition"]
    assert disposition.startswith("attachment;") and '"evil"' not in disposition and "\n" not in disposition
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"


def test_staff_may_download_a_reporters_file(client, report, moderator):
    evidence = evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT)
    login_with_second_factor(client, moderator)

    response = client.get(reverse("incidents:evidence-download", args=[evidence.pk]))

    assert response.status_code == 200 and b"".join(response.streaming_content) == TRADE_EXPORT


def test_the_preview_of_a_photo_carries_no_exif_or_location(owner, report):
    data = jpeg_with_gps()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the original has GPS
    evidence = evidence_attach(report=report, kind="screenshot", data=data)

    response = owner.get(reverse("incidents:evidence-preview", args=[evidence.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    preview = Image.open(io.BytesIO(response.content))
    assert preview.format == "PNG" and preview.size == (40, 30)
    assert not preview.getexif() and "exif" not in preview.info
    assert b"PhoneMaker" not in response.content


def test_only_images_have_a_preview(owner, report):
    evidence = evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT)

    assert owner.get(reverse("incidents:evidence-preview", args=[evidence.pk])).status_code == 404


def test_the_files_of_a_trade_loss_claim_are_listed_with_their_checks(owner, report):
    exchange = report.exchange
    Claim.objects.create(report=report, kind=ClaimKind.TRADE_LOSS, exchange=exchange)
    evidence = evidence_attach(report=report, kind="trade_export", data=TRADE_EXPORT, original_name="h.csv")
    check(report, "export_parsed", "fail", ["export_unreadable"], evidence=evidence)

    page = owner.get(reverse("incidents:report-detail", args=[report.pk])).content.decode()

    assert "Trade loss at Binance" in page
    assert "Your trade-history export could not be read." in page
    assert reverse("incidents:evidence-download", args=[evidence.pk]) in page


def test_an_upload_without_the_csrf_token_is_refused_and_nothing_is_stored(reporter, report,
                                                                           private_evidence_storage):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(reporter)

    response = browser.post(reverse("incidents:report-evidence-add", args=[report.pk]),
                            {"kind": "trade_export", "file": upload("t.csv", TRADE_EXPORT)})

    assert response.status_code == 403
    assert not Evidence.objects.exists() and not stored_files(private_evidence_storage)


@pytest.mark.parametrize("noise", ["\x07", " more words" * 600])
def test_a_seed_phrase_in_an_answer_is_never_echoed_whatever_else_is_wrong(client, reporter, noise):
    report = ReportFactory(reporter=reporter)
    report_question_ask(report=report, moderator=UserFactory(role=Role.MODERATOR), body="Which wallet?")
    client.force_login(reporter)

    response = client.post(reverse("incidents:report-answer", args=[report.pk]), {"body": SEED + noise})

    assert response.status_code == 400
    assert 'name="body"' in response.content.decode()  # the form is shown again, emptied
    assert "legal winner" not in response.content.decode()
    assert not ReportMessage.objects.filter(report=report, from_moderator=False).exists()


def test_the_live_part_tells_htmx_to_stop_polling_a_report_withdrawn_elsewhere(client, reporter):
    report = ReportFactory(reporter=reporter)
    client.force_login(reporter)
    url = reverse("incidents:report-checks", args=[report.pk])
    report_withdraw(report=report)

    assert client.get(url, headers={"HX-Request": "true"}).status_code == 286
    assert client.get(url).status_code == 404
