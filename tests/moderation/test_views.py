"""The moderator's pages: queue, filters, CSV, review page, claiming and deciding through forms."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from incidents.models import ClaimStatus, Evidence, EvidenceKind, ReportStatus
from moderation.models import Decision, DecisionState
from moderation.selectors import report_version
from tests.factories import ClaimFactory, UserFactory, login_with_second_factor
from tests.moderation.conftest import claimed, reviewable
from verification.models import CheckResult

pytestmark = pytest.mark.django_db
NOW = {"started_at": timezone.now(), "finished_at": timezone.now()}


@pytest.fixture
def mod_client(client, moderator):
    login_with_second_factor(client, moderator)
    return client


def page(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


# --- Queue ---------------------------------------------------------------------------------------


def test_the_queue_lists_waiting_reports_with_flagged_ones_first(mod_client):
    plain = reviewable(loss="900")
    flagged = reviewable(loss="50", flags=["mail_forged"])
    decided = reviewable(status=ReportStatus.VERIFIED)

    html = page(mod_client.get(reverse("moderation:queue")))

    assert html.index(f"#{flagged.pk}<") < html.index(f"#{plain.pk}<")
    assert f"#{decided.pk}<" not in html
    assert "2 reports in this view" in html and "The oldest report waiting for review has waited" in html


def test_filters_live_in_the_url_and_narrow_the_view(mod_client):
    small = reviewable(loss="100")
    large = reviewable(loss="30000")
    contested = reviewable(loss="500")
    ClaimFactory(report=contested, status=ClaimStatus.CONTESTED)

    by_amount = page(mod_client.get(reverse("moderation:queue"), {"verified_min": "10000"}))
    by_contest = page(mod_client.get(reverse("moderation:queue"), {"contested": "on"}))
    by_age = page(mod_client.get(reverse("moderation:queue"), {"older_than_days": "3"}))

    assert f"#{large.pk}<" in by_amount and f"#{small.pk}<" not in by_amount
    assert f"#{contested.pk}<" in by_contest and f"#{large.pk}<" not in by_contest
    assert "No report matches these filters." in by_age


def test_the_queue_shows_who_holds_a_report_and_filters_by_it(mod_client, moderator, second_moderator):
    mine = reviewable()
    theirs = reviewable()
    claimed(mine, moderator)
    claimed(theirs, second_moderator)

    html = page(mod_client.get(reverse("moderation:queue"), {"held_by": "me"}))

    assert f"#{mine.pk}<" in html and f"#{theirs.pk}<" not in html
    everyone = page(mod_client.get(reverse("moderation:queue")))
    assert second_moderator.username in everyone


def test_the_queue_downloads_as_csv_of_the_filtered_view_without_personal_data(mod_client):
    large = reviewable(loss="30000", flags=["ticket_reused"])
    reviewable(loss="100")

    response = mod_client.get(reverse("moderation:queue-csv"), {"verified_min": "10000"})

    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["report_id", "incident", "exchange"]
    assert [row[0] for row in rows[1:]] == [str(large.pk)]
    assert rows[1][5] == "ticket_reused" and "victim@example.org" not in str(rows)


def test_a_malformed_filter_is_ignored_not_a_server_error(mod_client):
    response = mod_client.get(reverse("moderation:queue"), {"verified_min": "lots", "older_than_days": "-1",
                                                            "sort": "nonsense", "held_by": "9999"})

    assert response.status_code == 200


# --- Review and decisions --------------------------------------------------------------------------


def test_the_review_page_shows_checks_in_plain_words_with_raw_data_and_related_reports(mod_client):
    report = reviewable()
    claim = report.claims.get()
    CheckResult.objects.create(report=report, claim=claim, check_name="recipient_is_attacker", outcome="pass",
                               raw={"to": "0xattacker"}, provider="http://127.0.0.1:8545", **NOW)
    other = reviewable(incident=report.incident)
    ClaimFactory(report=other, chain=claim.chain, tx_hash=claim.tx_hash)

    html = page(mod_client.get(reverse("moderation:review", args=[report.pk])))

    assert "recipient_is_attacker" in html and "0xattacker" in html and "127.0.0.1:8545" in html
    assert f"#{other.pk}</a>: same transfer" in html


def test_the_review_page_writes_amounts_as_the_register_does(mod_client):
    report = reviewable(loss="0.00")
    report.claims.update(amount=Decimal("12.000000000000000000"), asset="ETH")

    html = page(mod_client.get(reverse("moderation:review", args=[report.pk])))

    assert "Claimed 12 ETH; checked value 0.00 USD." in html
    assert "12.000000000000000000" not in html


def test_claiming_then_deciding_through_the_forms(mod_client, moderator):
    report = reviewable()
    mod_client.post(reverse("moderation:claim", args=[report.pk]))
    version = report_version(report_id=report.pk)

    response = mod_client.post(reverse("moderation:decide", args=[report.pk]), {
        "status": "verified", "reason": "proof_sufficient", "note": "All checks pass.", "version": version})

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == ReportStatus.VERIFIED and report.decided_at is not None


def test_a_stale_form_is_refused_with_a_clear_message_and_nothing_saved(mod_client, moderator):
    report = reviewable()
    mod_client.post(reverse("moderation:claim", args=[report.pk]))

    response = mod_client.post(reverse("moderation:decide", args=[report.pk]), {
        "status": "verified", "reason": "proof_sufficient", "note": "ok", "version": "an-old-version"})

    assert response.status_code == 409 and "changed since you opened it" in response.content.decode()
    assert not Decision.objects.exists()


def test_a_second_moderator_confirms_from_the_review_page(client, moderator, second_moderator, large_report):
    decision = _proposed(large_report, moderator)
    login_with_second_factor(client, second_moderator)
    html = page(client.get(reverse("moderation:review", args=[large_report.pk])))
    assert "Decision awaiting a second moderator" in html

    client.post(reverse("moderation:confirm", args=[large_report.pk, decision.pk]),
                {"version": report_version(report_id=large_report.pk)})

    decision.refresh_from_db()
    assert decision.state == DecisionState.EFFECTIVE


def test_the_proposing_moderator_gets_no_confirm_button(mod_client, moderator, large_report):
    _proposed(large_report, moderator)

    html = page(mod_client.get(reverse("moderation:review", args=[large_report.pk])))

    assert "A second, different moderator must confirm it" in html and "Confirm the decision" not in html


def _proposed(report, moderator) -> Decision:
    from moderation.services import report_decide

    return report_decide(report_id=report.pk, moderator=moderator, status="verified",
                         reason="proof_sufficient", note="Large and proven.",
                         version=claimed(report, moderator))


def test_the_decision_form_is_preset_from_the_url(mod_client, moderator, report):
    claimed(report, moderator)

    html = page(mod_client.get(reverse("moderation:review", args=[report.pk]), {"decide": "rejected"}))

    assert '<option value="rejected" selected>' in html
    assert '<option value="evidence_insufficient" selected>' in html


# --- Evidence ------------------------------------------------------------------------------------------

MAIL = (b"From: Support <support@exchange.example>\r\nTo: victim@example.org\r\n"
        b"Subject: Ticket #12345678\r\nX-Note: added later\r\n\r\nWe received your ticket.\r\n")


def test_the_mail_is_shown_as_plain_text_with_its_signed_headers_marked(mod_client, report):
    evidence = Evidence(report=report, kind=EvidenceKind.SUPPORT_EMAIL, sha256="a" * 64, size=len(MAIL),
                        detected_type="message/rfc822", original_name="ticket.eml")
    evidence.file.save("a" * 64, io.BytesIO(MAIL), save=True)
    CheckResult.objects.create(report=report, evidence=evidence, check_name="dkim_signature", outcome="pass",
                               raw={"signatures": [{"d": "exchange.example", "result": "pass",
                                                    "h": ["from", "to", "subject"]}],
                                    "covered_headers": ["from", "to", "subject"]}, **NOW)
    before = AuditEvent.objects.count()

    html = page(mod_client.get(reverse("moderation:evidence", args=[evidence.pk])))

    assert html.count("<tr class=\"signed\">") == 3
    assert "X-Note" in html and "not signed" in html and "We received your ticket." in html
    assert AuditEvent.objects.count() == before + 1


def test_an_image_preview_is_reencoded_without_exif(mod_client, report):
    from PIL import Image

    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    Image.new("RGB", (8, 8), "red").save(out, format="JPEG", exif=exif.tobytes())
    evidence = Evidence(report=report, kind=EvidenceKind.SCREENSHOT, sha256="b" * 64,
                        size=len(out.getvalue()), detected_type="image/jpeg", original_name="shot.jpg")
    evidence.file.save("b" * 64, io.BytesIO(out.getvalue()), save=True)

    response = mod_client.get(reverse("moderation:evidence-preview", args=[evidence.pk]))

    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"PhoneMaker" not in response.content
    assert response["Content-Security-Policy"] == "sandbox"


# --- Who gets in ------------------------------------------------------------------------------------------

MODERATION_URLS = ["moderation:queue", "moderation:queue-csv"]


@pytest.mark.parametrize("role", [Role.REPORTER, Role.JOURNALIST, Role.LIAISON])
def test_other_roles_reach_no_moderator_page(client, role):
    report = reviewable(loss=str(Decimal("10")))
    login_with_second_factor(client, UserFactory(role=role, is_staff=role == Role.LIAISON))

    for name, args in [("moderation:queue", []), ("moderation:queue-csv", []),
                       ("moderation:review", [report.pk]), ("moderation:claim", [report.pk])]:
        for method in (client.get, client.post):
            assert method(reverse(name, args=args)).status_code in {403, 404, 405}, name


def test_the_reporter_reads_the_decision_on_their_report_page(client, moderator, report):
    from moderation.services import report_decide

    report_decide(report_id=report.pk, moderator=moderator, status="partially_verified",
                  reason="proof_partial", note="One of two transfers is proven.",
                  version=claimed(report, moderator))
    client.force_login(report.reporter)

    html = page(client.get(reverse("incidents:report-detail", args=[report.pk])))

    assert "Part of the loss is proven" in html and "Proof of the rest would change this" in html
    assert "One of two transfers is proven." not in html


def test_a_moderators_api_token_cannot_decide(client, moderator):
    from accounts.services import token_issue

    login_with_second_factor(client, moderator)  # enrols the second factor the token needs
    client.logout()
    token = token_issue(email=moderator.email, role=Role.MODERATOR)
    report = reviewable()
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}

    queue = client.get(reverse("moderation:queue"), **auth)
    decided = client.post(reverse("moderation:decide", args=[report.pk]), {
        "status": "verified", "reason": "proof_sufficient", "note": "n",
        "version": report_version(report_id=report.pk)}, **auth)

    assert queue.status_code == 302 and decided.status_code in {302, 403}
    report.refresh_from_db()
    assert report.status == ReportStatus.NEEDS_REVIEW


def test_bulk_assign_hands_reports_to_a_moderator_and_skips_what_it_may_not(mod_client, moderator,
                                                                             second_moderator):
    from moderation.models import ReportHold

    free, held_by_me = reviewable(), reviewable()
    own = reviewable(reporter=second_moderator)
    claimed(held_by_me, moderator)

    response = mod_client.post(reverse("moderation:assign"), {
        "report": [free.pk, held_by_me.pk, own.pk], "assignee": second_moderator.pk}, follow=True)

    holds = dict(ReportHold.objects.values_list("report_id", "moderator_id"))
    assert holds == {free.pk: second_moderator.pk, held_by_me.pk: second_moderator.pk}
    html = response.content.decode()
    assert "2 report(s) assigned." in html
    assert f"#{own.pk}: {second_moderator.get_full_name()} cannot take it" in html
    assert not Decision.objects.exists()


def test_each_count_links_to_the_view_narrowed_to_it(mod_client):
    reviewable(flags=["ticket_reused"])
    reviewable()

    html = page(mod_client.get(reverse("moderation:queue"), {"tier": "T2", "sort": "loss"}))

    assert "?tier=T2&amp;sort=loss&amp;flag=ticket_reused" in html
    assert "?tier=T2&amp;sort=loss&amp;status=needs_review" in html
    assert "<dt>Needs review</dt>" in html and "<dt>needs_review</dt>" not in html  # named as in the table


EXPORT = (b"Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin\r\n"
          b"2022-11-20 14:05:00,PUMPBTC,BUY,0.5,100,50,0.07,BNB\r\n")


def test_a_trade_export_is_shown_as_a_table_with_each_trades_fees(mod_client, report):
    evidence = Evidence(report=report, kind=EvidenceKind.TRADE_EXPORT, sha256="b" * 64, size=len(EXPORT),
                        detected_type="text/csv", original_name="history.csv")
    evidence.file.save("b" * 64, io.BytesIO(EXPORT), save=True)

    html = page(mod_client.get(reverse("moderation:evidence", args=[evidence.pk])))

    assert "PUMP/BTC" in html or "PUMPBTC" in html
    assert "0.07 BNB" in html
