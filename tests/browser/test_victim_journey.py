"""A victim's journey in a real browser: sign up, confirm the email, file a report, watch the checks.

Real parts throughout: Debian's chromium, Django's live server, an anvil node with a real
transfer, a DKIM signature made by dkimpy, and a Celery worker on the configured broker.
"""

import re
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from django.core import mail

from incidents.models import Report, ReportDraft
from tests.conftest import ANVIL_CAIP2
from tests.verification.conftest import build_world
from tests.verification.dkim_fixtures import binance_with_archived_key, build_mail, rsa_key, sign

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.chain]

PASSWORD = "a long walk to the harbour 42"
SEED_PHRASE = ("abandon ability able about above absent absorb abstract absurd abuse access "
               "accident")


@pytest.fixture
def world(anvil, settings):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    world = build_world(anvil)
    binance_with_archived_key(world.incident)
    return world


@pytest.fixture
def support_mail(tmp_path):
    """A support mail signed by the exchange's archived DKIM key, dated now (inside the window)."""
    raw = build_mail(date=format_datetime(datetime.now(UTC)),
                     subject="Re: [Ticket #12345678] Unauthorised withdrawal")
    path = tmp_path / "binance-ticket.eml"
    path.write_bytes(sign(raw, key=rsa_key("binance-2022")))
    return path


def sign_up(page, email: str) -> None:
    """Sign up, open the confirmation link from the outbox and confirm the address."""
    page.goto("/accounts/signup/")
    page.shot("sign up form")
    page.locator("#id_email").fill(email)  # allauth's field ids
    page.locator("#id_password1").fill(PASSWORD)
    page.locator("#id_password2").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("Sign up", re.I)).click()
    page.shot("asked to confirm the email")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link.split("/accounts/", 1)[1].join(["/accounts/", ""]))
    page.shot("confirmation page")
    page.get_by_role("button", name=re.compile("Confirm", re.I)).click()


def save_and_continue(page) -> None:
    page.get_by_role("button", name=re.compile("Save and continue", re.I)).click()


def test_a_new_victim_files_a_report_and_watches_it_rise_to_t3(page, world, support_mail, celery_worker):
    tx_hash = world.send_eth(world.victims[0], world.attackers[0], "1.5")
    world.mine(2)

    sign_up(page, "victim@example.org")
    page.get_by_role("link", name=re.compile("New report|Report a loss", re.I)).first.click()
    page.get_by_role("button", name=re.compile("Start a new report", re.I)).click()
    page.get_by_label(world.incident.title).check()
    page.shot("step incident")
    save_and_continue(page)

    page.get_by_label("Exchange", exact=True).select_option(label="Binance")
    page.get_by_label("What happened").fill("Someone used my leaked API key and withdrew my ETH.")
    page.get_by_label(re.compile("Total loss")).fill("3000")
    page.get_by_label(re.compile("Support ticket id")).fill("12345678")
    page.shot("step account")
    save_and_continue(page)

    page.get_by_label("Chain").first.select_option(ANVIL_CAIP2)
    page.get_by_label("Transaction hash").first.fill(tx_hash[:20])
    page.locator(".tx-check.is-bad").wait_for()  # checked as typed (htmx), before any save
    page.shot("a half-typed hash is flagged")
    page.get_by_label("Transaction hash").first.fill(tx_hash)
    page.get_by_text("well-formed transaction hash").wait_for()
    eth = world.incident.assets.get(symbol="ETH")
    page.get_by_label(re.compile("Asset")).first.select_option(str(eth.pk))
    page.get_by_label(re.compile("Amount")).first.fill("1.5")
    page.shot("step transfers")
    save_and_continue(page)

    page.get_by_label("What is this file?").select_option("support_email")
    page.get_by_label("File", exact=True).set_input_files(str(support_mail))
    page.get_by_role("button", name=re.compile("Upload", re.I)).click()
    page.get_by_role("cell", name="binance-ticket.eml", exact=True).wait_for()
    page.shot("step evidence")
    save_and_continue(page)

    page.get_by_label(re.compile("pseudonym", re.I)).check()
    page.get_by_label("No", exact=True).check()
    page.get_by_label(re.compile("true to the best of my knowledge")).check()
    page.shot("step consent")
    save_and_continue(page)

    page.shot("review")
    page.get_by_role("button", name=re.compile("Submit", re.I)).click()
    page.get_by_role("heading", name=re.compile("Where your report stands")).wait_for()
    page.shot("report submitted, checks running")
    page.get_by_text("T3 exchange-confirmed").first.wait_for(timeout=90_000)
    page.shot("report reached T3")

    report = Report.objects.get(reporter__email="victim@example.org")
    assert report.tier == "T3"
    assert report.claims.get().status == "verified"
    assert not ReportDraft.objects.filter(reporter=report.reporter).exists()


def test_a_draft_survives_a_reload_and_a_closed_browser(page, world, browser, live_server):
    sign_up(page, "drafter@example.org")
    page.goto("/reports/new/")
    page.get_by_role("button", name=re.compile("Start a new report", re.I)).click()
    page.get_by_label(world.incident.title).check()
    save_and_continue(page)
    page.get_by_label("Exchange", exact=True).select_option(label="Binance")
    page.get_by_label("What happened").fill("My account was emptied overnight.")
    save_and_continue(page)
    page.get_by_label("Transaction hash").first.wait_for()
    page.reload()
    page.context.close()  # the tab and its session cookie are gone

    later = browser.new_context(viewport={"width": 412, "height": 915}, base_url=live_server.url)
    tab = later.new_page()
    tab.goto("/accounts/login/")
    tab.locator("#id_login").fill("drafter@example.org")
    tab.locator("#id_password").fill(PASSWORD)
    tab.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    tab.goto("/reports/new/")
    page.shot.page = tab
    page.shot("drafts listed on a new visit")
    tab.get_by_role("link", name=world.incident.title, exact=True).click()
    tab.get_by_label("Transaction hash").first.wait_for()  # it resumes at the first unfinished step
    tab.get_by_role("link", name=re.compile("Exchange account")).click()
    page.shot("the saved answer is back")
    assert tab.get_by_label("What happened").input_value() == "My account was emptied overnight."
    later.close()


def test_a_pasted_seed_phrase_is_refused_and_never_stored(page, world):
    sign_up(page, "careful@example.org")
    page.goto("/reports/new/")
    page.get_by_role("button", name=re.compile("Start a new report", re.I)).click()
    page.get_by_label(world.incident.title).check()
    save_and_continue(page)
    page.get_by_label("What happened").fill(f"Here are my recovery words: {SEED_PHRASE}")
    save_and_continue(page)
    page.shot("seed phrase refused")

    error = page.locator("#id_notes_error")  # the message sits next to its field
    assert "seed phrase" in error.inner_text() and error.is_visible()
    assert "abstract absurd" not in page.content()
    assert page.get_by_label("What happened").input_value() == ""
    drafts = ReportDraft.objects.filter(reporter__email="careful@example.org")
    assert "abstract" not in str(list(drafts.values_list("data", flat=True)))
