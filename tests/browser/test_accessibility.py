"""The reporter's pages pass axe-core's WCAG 2 A/AA rules and can be used from the keyboard alone."""

import json
import re

import pytest
from django.conf import settings

from incidents.drafts import draft_start, draft_step_save
from incidents.models import Asset, ClaimStatus
from tests.factories import (
    ClaimFactory,
    ExchangeFactory,
    IncidentChainFactory,
    IncidentFactory,
    ReportFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)

AXE = settings.BASE_DIR / "node_modules" / "axe-core" / "axe.min.js"
RULES = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}}
PASSWORD = "a long walk to the harbour 42"


@pytest.fixture
def reporter_world(django_user_model):
    from allauth.account.models import EmailAddress

    incident = IncidentFactory(title="Exchange key leak", published=True)
    IncidentChainFactory(incident=incident, caip2="eip155:1")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    report = ReportFactory(incident=incident, exchange=ExchangeFactory(incident=incident, name="Binance"))
    ClaimFactory(report=report, status=ClaimStatus.VERIFIED)
    user = report.reporter
    user.set_password(PASSWORD)
    user.save()
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    draft = draft_start(reporter=user)
    draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})
    return {"user": user, "report": report, "draft": draft, "incident": incident}


def log_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")  # submitting by keyboard is part of the check
    page.wait_for_url(re.compile(r"/reports/"))


def violations(page) -> list[str]:
    page.evaluate(AXE.read_text())
    result = page.evaluate(f"axe.run(document, {json.dumps(RULES)})")
    return [f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
            for v in result["violations"]]


@pytest.mark.parametrize("path", [
    "/", "/accounts/signup/", "/accounts/login/", "/reports/", "/reports/new/",
    "/reports/drafts/{draft.pk}/account/", "/reports/drafts/{draft.pk}/transfers/",
    "/reports/drafts/{draft.pk}/evidence/", "/reports/drafts/{draft.pk}/consent/",
    "/reports/{report.pk}/", "/reports/{report.pk}/withdraw/",
])
def test_the_page_has_no_accessibility_violations(page, reporter_world, path):
    if path.startswith("/reports"):
        log_in(page, reporter_world["user"])
    page.goto(path.format(**reporter_world))
    page.shot(path.strip("/").replace("/", "-") or "home")

    assert violations(page) == []


def test_a_step_with_errors_can_be_fixed_from_the_keyboard(page, reporter_world):
    log_in(page, reporter_world["user"])
    page.goto("/reports/drafts/{draft.pk}/account/".format(**reporter_world))
    page.get_by_label("What happened").fill("abandon " * 12)  # refused: reads as a seed phrase
    page.get_by_label("What happened").press("Tab")
    page.get_by_role("button", name=re.compile("Save and continue")).focus()
    page.keyboard.press("Enter")
    page.shot("errors listed at the top")

    summary_link = page.locator(".error-summary a, [role=alert] a").first
    summary_link.focus()
    page.keyboard.press("Enter")
    focused = page.evaluate("document.activeElement && document.activeElement.id")
    described = page.get_by_label("What happened").get_attribute("aria-describedby") or ""
    assert focused in {"id_notes", "id_exchange"}
    assert any(page.locator(f"#{ident}").count() for ident in described.split())
    assert violations(page) == []


def test_the_skip_link_is_the_first_stop_of_the_tab_key(page, reporter_world):
    page.goto("/")
    page.keyboard.press("Tab")

    assert page.evaluate("document.activeElement.getAttribute('href')") == "#main"


def test_the_checker_itself_catches_an_unlabelled_field(page, reporter_world):
    page.goto("/")
    page.evaluate("document.querySelector('main').insertAdjacentHTML('beforeend', '<input type=text>')")

    assert any(line.startswith("label") for line in violations(page))
