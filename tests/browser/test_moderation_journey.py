"""A moderator's morning in Chromium: TOTP sign-in, filters, claim, a large decision, a second moderator.

Also: the keyboard alone drives the same, and axe finds no WCAG 2.1 AA violation on the pages.
"""

import io
import re
import time
from decimal import Decimal

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)
from django.utils import timezone

from accounts.models import Role
from incidents.models import ClaimStatus, Evidence, EvidenceKind, ReportStatus, Tier
from tests.browser.test_accessibility import violations
from tests.factories import ClaimFactory, IncidentFactory, ReportFactory, UserFactory
from verification.models import CheckResult

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "a long walk to the harbour 42"
MAIL = (b"From: Support <support@exchange.example>\r\nTo: victim@example.org\r\n"
        b"Subject: Ticket #12345678\r\nX-Note: added later\r\n\r\nWe received your ticket.\r\n")


def person(role: str, name: str):
    user = UserFactory(username=name, email=f"{name}@example.org", role=role)
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def enrolled(user) -> str:
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return secret


def code(secret: str) -> str:
    """The current TOTP code, taken far enough from the end of its 30 s window that the server,
    which allows no drift (MFA_TOTP_TOLERANCE 0), still checks it in the same window."""
    period = mfa_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < 3:
        time.sleep(left + 0.1)
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2]))


@pytest.fixture
def world():
    incident = IncidentFactory(title="Exchange key leak")
    reporter = person(Role.REPORTER, "victim")
    large = ReportFactory(incident=incident, reporter=reporter, status=ReportStatus.NEEDS_REVIEW,
                          tier=Tier.T2, claimed_loss_usd=Decimal("26000"), verified_loss_usd=Decimal("25000"),
                          contact_email=reporter.email)
    ClaimFactory(report=large, status=ClaimStatus.VERIFIED, checked_status=ClaimStatus.VERIFIED,
                 usd_value=Decimal("25000"))
    small = ReportFactory(incident=incident, status=ReportStatus.NEEDS_REVIEW,
                          verified_loss_usd=Decimal("300"))
    mail = Evidence(report=large, kind=EvidenceKind.SUPPORT_EMAIL, sha256="c" * 64, size=len(MAIL),
                    detected_type="message/rfc822", original_name="ticket.eml")
    mail.file.save("c" * 64, io.BytesIO(MAIL), save=True)
    now = timezone.now()
    CheckResult.objects.create(report=large, evidence=mail, check_name="dkim_signature", outcome="pass",
                               raw={"signatures": [{"d": "exchange.example", "result": "pass",
                                                    "h": ["from", "to", "subject"]}],
                                    "covered_headers": ["from", "to", "subject"]},
                               started_at=now, finished_at=now)
    first, second = person(Role.MODERATOR, "mona"), person(Role.MODERATOR, "sam")
    return {"large": large, "small": small, "mail": mail, "reporter": reporter,
            "first": (first, enrolled(first)), "second": (second, enrolled(second))}


def sign_in(page, user, secret: str | None = None) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    if secret:
        page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))
        page.locator("#id_code").fill(code(secret))
        page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/reports/"))


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()
    page.context.clear_cookies()


def test_a_large_decision_needs_two_moderators_and_the_reporter_sees_it(page, world):
    moderator, secret = world["first"]
    sign_in(page, moderator, secret)
    page.goto("/moderation/")
    page.shot("queue")
    page.locator("summary", has_text="Filters and sorting").click()
    page.get_by_label("Verified from (USD)").fill("10000")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(r"verified_min=10000"))
    assert page.locator("[data-queue-row]").count() == 1
    page.shot("filtered")
    page.get_by_role("link", name=f"#{world['large'].pk}").click()

    page.get_by_role("button", name="Claim this report").click()
    page.get_by_text("You hold this report now.").wait_for()
    page.get_by_role("link", name="Read it beside its checks").click()
    assert page.locator("tr.signed").count() == 3
    assert page.locator("tr", has_text="X-Note").get_by_text("not signed").is_visible()
    page.shot("mail-signed-headers")
    page.go_back()

    form = page.locator("#decision-form")
    form.get_by_label("Decision").select_option("verified")
    form.get_by_label("Reason").select_option("proof_sufficient")
    form.get_by_label("Note").fill("The transfer to the attacker is confirmed; the mail is genuine.")
    page.get_by_role("button", name="Save the decision").click()
    page.get_by_text("Your decision waits for a second moderator").wait_for()
    page.shot("waiting-for-second")
    sign_out(page)

    second, second_secret = world["second"]
    sign_in(page, second, second_secret)
    page.goto(f"/moderation/reports/{world['large'].pk}/")
    page.get_by_role("button", name="Confirm the decision").click()
    page.get_by_text("Decision confirmed; it is in effect.").wait_for()
    page.shot("confirmed")
    sign_out(page)

    sign_in(page, world["reporter"])
    page.goto(f"/reports/{world['large'].pk}/")
    page.get_by_text("The moderators found that the evidence proves the loss.").wait_for()
    page.shot("reporter-sees-decision")
    world["large"].refresh_from_db()
    assert world["large"].status == ReportStatus.VERIFIED


def test_the_same_journey_from_the_keyboard(page, world):
    moderator, secret = world["first"]
    sign_in(page, moderator, secret)
    page.goto("/moderation/?status=needs_review&sort=loss")

    page.keyboard.press("j")  # the first row: the largest verified loss
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(rf"/moderation/reports/{world['large'].pk}/"))
    page.keyboard.press("c")
    page.get_by_text("You hold this report now.").wait_for()
    page.keyboard.press("r")
    assert page.locator("#decision-form").get_by_label("Decision").input_value() == "rejected"
    page.keyboard.type("Forged headers; not the exchange's mail.")
    page.keyboard.press("Tab")  # the help text is not focusable: next is the button
    page.keyboard.press("Enter")
    page.get_by_text("Your decision waits for a second moderator").wait_for()
    page.keyboard.press("?")
    assert page.locator("#shortcuts").get_attribute("open") is not None
    page.shot("keyboard-shortcuts")


@pytest.mark.parametrize("path", ["/moderation/", "/moderation/reports/{large.pk}/",
                                  "/moderation/evidence/{mail.pk}/"])
def test_the_moderator_pages_have_no_accessibility_violations(page, world, path):
    moderator, secret = world["first"]
    sign_in(page, moderator, secret)

    page.goto(path.format(**world))
    page.shot(path.strip("/").replace("/", "-"))

    assert violations(page) == []


def test_the_second_factor_prompt_has_no_accessibility_violations(page, world):
    moderator, _secret = world["first"]
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(moderator.email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/accounts/2fa/authenticate/"))

    assert violations(page) == []
