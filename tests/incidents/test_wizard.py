"""The report form in steps, driven like a browser without JavaScript (plus the htmx tx check)."""

import hashlib
import io
import re
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from incidents.models import Asset, DraftUpload, Report, ReportDraft
from incidents.validation import ticket_id_find
from tests.factories import ExchangeFactory, IncidentChainFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

TX = "0x" + "ab" * 32
OTHER_TX = "0x" + "cd" * 32
VICTIM = "0x" + "11" * 20
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"
PRIVATE_KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"
EML = (b"From: Support <support@exchange.example>\r\nTo: person@example.org\r\n"
       b"Subject: Ticket #12345678\r\nDate: Sun, 20 Nov 2022 12:00:00 +0000\r\n\r\n"
       b"We are looking into it.\r\n")


@pytest.fixture
def incident():
    incident = IncidentFactory(title="API key leak")
    IncidentChainFactory(incident=incident, caip2="eip155:1")
    IncidentChainFactory(incident=incident, caip2="eip155:31337")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="USDT", decimals=6,
                         contract="0x" + "dac17f958d2ee523a2206206994597c13d831ec7")
    ExchangeFactory(incident=incident, name="Binance", ticket_id_regex=r"Ticket #(\d{8})")
    return incident


@pytest.fixture
def reporter():
    return UserFactory(email="victim@example.org")


@pytest.fixture
def browser(client, reporter):
    client.force_login(reporter)
    return client


def png(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes):
    file = io.BytesIO(data)
    file.name = name
    return file


def step_url(draft, step: str) -> str:
    return reverse("incidents:draft-step", args=[draft.pk, step])


def start(browser) -> ReportDraft:
    response = browser.post(reverse("incidents:draft-start"))
    draft = ReportDraft.objects.latest("created_at")
    assert response.url == step_url(draft, "incident")
    return draft


def account_answers(incident, **changes) -> dict:
    return {"exchange": str(incident.exchanges.get().pk), "notes": "Woke up to trades I never made.",
            "claimed_loss_usd": "1500", "loss_date": "2022-11-20", "support_ticket_id": "12345678",
            "police_report": "Berlin LKA 2022/1234", **changes}


def transfer_rows(*rows: dict, initial: int = 0) -> dict:
    data = {"transfers-TOTAL_FORMS": str(len(rows)), "transfers-INITIAL_FORMS": str(initial)}
    for index, row in enumerate(rows):
        data.update({f"transfers-{index}-{key}": value for key, value in row.items()})
    return data


def row(chain="eip155:1", tx_hash=TX, victim_address="", asset="", amount="") -> dict:
    return {"chain": chain, "tx_hash": tx_hash, "victim_address": victim_address, "asset": asset,
            "amount": amount}


def draft_at_transfers(browser, incident) -> ReportDraft:
    draft = start(browser)
    browser.post(step_url(draft, "incident"), {"incident": incident.pk})
    browser.post(step_url(draft, "account"), account_answers(incident))
    return draft


def fill_transfers(browser, draft, incident) -> dict:
    """Enter one transfer, ask for another row without JavaScript, and fill that one too."""
    first = row(tx_hash=TX.upper().replace("0X", "0x"), victim_address=VICTIM,
                asset=incident.assets.get(symbol="USDT").pk, amount="1200")
    response = browser.post(step_url(draft, "transfers"), {**transfer_rows(first), "add_transfer": ""})
    assert response.url == step_url(draft, "transfers") + "?add=1"
    page = browser.get(response.url).content.decode()
    assert 'name="transfers-1-tx_hash"' in page and TX in page
    second = row(chain="eip155:31337", tx_hash=OTHER_TX)
    both = transfer_rows({**first, "tx_hash": TX}, second, initial=1)
    return browser.post(step_url(draft, "transfers"), both)


def add_files(browser, draft, files: dict[str, tuple[str, bytes]]) -> None:
    for kind, (name, data) in files.items():
        response = browser.post(step_url(draft, "evidence"), {"kind": kind, "file": upload(name, data),
                                                               "upload": ""})
        assert response.url == step_url(draft, "evidence")


def test_a_reporter_files_a_report_through_every_step(browser, incident, reporter, draft_storage,
                                                      django_capture_on_commit_callbacks):
    draft, shot = start(browser), png()
    assert browser.post(step_url(draft, "incident"), {"incident": incident.pk}).url.endswith("/account/")
    assert browser.post(step_url(draft, "account"), account_answers(incident)).url.endswith("/transfers/")
    assert fill_transfers(browser, draft, incident).url == step_url(draft, "evidence")
    add_files(browser, draft, {"screenshot": ("shot.png", shot), "support_email": ("ticket.eml", EML)})
    assert browser.post(step_url(draft, "evidence"), {"continue": ""}).url == step_url(draft, "consent")
    response = browser.post(step_url(draft, "consent"), {
        "consent_publish": "pseudonymous", "consent_law_enforcement": "yes", "truthful": "on"})
    assert response.url == step_url(draft, "review")
    review = browser.get(step_url(draft, "review")).content.decode()
    assert "Woke up to trades I never made." in review and OTHER_TX in review and "ticket.eml" in review
    draft_files = list(DraftUpload.objects.values_list("file", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(step_url(draft, "review"), {"submit": ""})

    report = Report.objects.get()
    assert response.url == reverse("incidents:report-detail", args=[report.pk])
    assert (report.incident, report.reporter, report.exchange.name) == (incident, reporter, "Binance")
    assert report.claimed_loss_usd == Decimal("1500")
    assert (report.support_ticket_id, report.police_report) == ("12345678", "Berlin LKA 2022/1234")
    assert report.consent_publish == "pseudonymous" and report.consent_law_enforcement
    claims = report.claims.values_list("chain", "tx_hash", "from_address", "asset", "amount")
    assert list(claims) == [("eip155:1", TX, VICTIM, "USDT", Decimal("1200")),
                            ("eip155:31337", OTHER_TX, "", "", None)]
    assert sorted(report.evidence.values_list("sha256", flat=True)) == sorted(
        hashlib.sha256(data).hexdigest() for data in (shot, EML))
    assert not ReportDraft.objects.exists() and not DraftUpload.objects.exists()
    assert not any(draft_storage.exists(name) for name in draft_files)


def test_a_draft_survives_a_closed_tab_and_a_new_login(browser, incident, reporter):
    draft = draft_at_transfers(browser, incident)

    later = Client()
    later.force_login(reporter)
    start_page = later.get(reverse("incidents:draft-start")).content.decode()
    account_page = later.get(step_url(draft, "account")).content.decode()

    assert "API key leak" in start_page and step_url(draft, "transfers") in start_page
    assert "Woke up to trades I never made." in account_page
    assert 'value="Berlin LKA 2022/1234"' in account_page


def test_every_step_shows_the_never_ask_for_secrets_notice(browser, incident):
    draft = draft_at_transfers(browser, incident)

    for step in ("incident", "account", "transfers", "evidence", "consent", "review"):
        page = browser.get(step_url(draft, step)).content.decode()
        assert "Lossproof never asks for your exchange API secret" in page, step


def test_a_seed_phrase_in_the_notes_is_refused_and_never_stored_or_echoed(browser, incident):
    draft = start(browser)
    browser.post(step_url(draft, "incident"), {"incident": incident.pk})

    response = browser.post(step_url(draft, "account"), account_answers(incident, notes=f"My words: {SEED}"))

    page = response.content.decode()
    assert response.status_code == 200
    assert "seed phrase" in page and "abandon ability" not in page
    assert 'aria-describedby="id_notes_helptext id_notes_error"' in page
    assert 'href="#id_notes"' in page  # the summary at the top links to the field
    draft.refresh_from_db()
    assert "account" not in draft.data and "abandon" not in str(draft.data)


def test_a_secret_pasted_into_a_number_box_is_not_echoed_either(browser, incident):
    draft = start(browser)
    browser.post(step_url(draft, "incident"), {"incident": incident.pk})

    response = browser.post(step_url(draft, "account"), account_answers(incident, claimed_loss_usd=SEED))

    page = response.content.decode()
    assert 'id="id_claimed_loss_usd_error"' in page and "seed phrase" in page and "abandon" not in page


def test_a_private_key_as_the_victim_address_is_refused_and_not_echoed(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(victim_address=PRIVATE_KEY)))

    page = response.content.decode()
    assert "private key" in page and PRIVATE_KEY[2:] not in page
    draft.refresh_from_db()
    assert "transfers" not in draft.data


@pytest.mark.parametrize("pasted", [
    {"tx_hash": " ".join([SEED] * 2)},  # 24 words: too long for the box, refused as a secret anyway
    {"tx_hash": SEED, "chain": ""},  # no chain chosen, so the hash is never checked against one
])
def test_a_seed_phrase_in_the_tx_hash_box_never_comes_back(browser, incident, pasted):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(**pasted)))

    page = response.content.decode()
    assert response.status_code == 200 and "seed phrase" in page and "abandon" not in page


def test_a_malformed_tx_hash_is_refused_next_to_its_field(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(tx_hash="0x1234")))

    page = response.content.decode()
    assert 'id="id_transfers-0-tx_hash_error"' in page
    assert "64 hexadecimal characters" in page
    assert 'href="#id_transfers-0-tx_hash"' in page


def test_a_chain_outside_the_incident_is_refused(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(chain="eip155:56")))

    assert "Choose one of this incident&#x27;s chains." in response.content.decode()
    draft.refresh_from_db()
    assert "transfers" not in draft.data


def test_the_same_transaction_twice_in_one_report_is_refused(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(), row(tx_hash=TX[2:])))

    assert "This transaction is already in this report." in response.content.decode()


def test_a_report_without_transfers_is_allowed(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "transfers"), transfer_rows(row(tx_hash="", chain="eip155:1")))

    assert response.url == step_url(draft, "evidence")
    draft.refresh_from_db()
    assert draft.data["transfers"] == {"rows": []}


def test_a_ticket_id_in_the_wrong_format_says_which_format_is_expected(browser, incident):
    draft = start(browser)
    browser.post(step_url(draft, "incident"), {"incident": incident.pk})

    response = browser.post(step_url(draft, "account"), account_answers(incident, support_ticket_id="ABC"))

    assert "expected 8 digits" in response.content.decode()


@pytest.mark.parametrize(("pattern", "typed", "kept"), [
    (r"Ticket #(\d{8})", "12345678", "12345678"),
    (r"Ticket #(\d{8})", "Re: Ticket #12345678 ", "12345678"),
    (r"\[(\d{7})\]", "1234567", "1234567"),
    (r"\[(\d{7})\]", "[1234567]", "1234567"),
    (r"\[(\d{7})\]", "12345678", None),
    (r"(?i)case (?:no\.? )?([A-Z]{2}-\d+)", "AB-12", "AB-12"),
])
def test_a_ticket_id_is_recognised_written_bare_or_as_the_mails_show_it(pattern, typed, kept):
    assert ticket_id_find(pattern=pattern, value=typed.strip()) == kept


def test_a_ticket_id_copied_with_its_label_is_kept_as_the_bare_id(browser, incident):
    draft = start(browser)
    browser.post(step_url(draft, "incident"), {"incident": incident.pk})

    browser.post(step_url(draft, "account"), account_answers(incident, support_ticket_id="Ticket #87654321"))

    draft.refresh_from_db()
    assert draft.data["account"]["support_ticket_id"] == "87654321"


@pytest.mark.parametrize(("tx_hash", "verdict"), [
    (TX, "well-formed transaction hash for Ethereum (eip155:1)"),
    ("0xabc", "64 hexadecimal characters"),
])
def test_the_as_you_type_check_says_whether_a_hash_fits_the_chain(browser, tx_hash, verdict):
    response = browser.post(reverse("incidents:tx-hash-check"),
                            {"transfers-0-chain": "eip155:1", "transfers-0-tx_hash": tx_hash})

    assert response.status_code == 200
    assert verdict in response.content.decode()
    assert "<html" not in response.content.decode()


def test_the_transfers_page_wires_the_as_you_type_check_to_each_row(browser, incident):
    draft = draft_at_transfers(browser, incident)

    page = browser.get(step_url(draft, "transfers")).content.decode()

    assert f'hx-post="{reverse("incidents:tx-hash-check")}"' in page
    assert 'hx-params="csrfmiddlewaretoken,transfers-0-chain,transfers-0-tx_hash"' in page
    assert 'hx-target="#id_transfers-0-tx_hash_check"' in page and 'id="id_transfers-0-tx_hash_check"' in page


def test_the_as_you_type_check_refuses_a_get_so_nothing_typed_lands_in_a_url(browser):
    bitcoin = "bip122:000000000019d6689c085ae165831e93"

    response = browser.get(reverse("incidents:tx-hash-check"), {"chain": bitcoin, "tx_hash": TX})

    assert response.status_code == 405


def test_the_as_you_type_check_never_echoes_a_pasted_secret(browser):
    response = browser.post(reverse("incidents:tx-hash-check"), {"chain": "eip155:1", "tx_hash": SEED})

    page = response.content.decode()
    assert "seed phrase" in page and "abandon" not in page


def test_another_reporters_draft_is_not_found(browser, incident):
    stranger = Client()
    stranger.force_login(UserFactory())
    stranger.post(reverse("incidents:draft-start"))
    theirs = ReportDraft.objects.get()

    assert browser.get(step_url(theirs, "incident")).status_code == 404
    assert browser.post(step_url(theirs, "incident"), {"incident": incident.pk}).status_code == 404
    assert browser.post(reverse("incidents:draft-discard", args=[theirs.pk])).status_code == 404
    assert browser.post(reverse("incidents:draft-upload-remove", args=[theirs.pk, 1])).status_code == 404
    assert ReportDraft.objects.filter(pk=theirs.pk, data={}).exists()


def test_an_unpublished_incident_is_not_offered_and_is_refused_if_posted(browser, incident):
    hidden = IncidentFactory(title="Embargoed breach", published=False)
    draft = start(browser)

    page = browser.get(step_url(draft, "incident")).content.decode()
    response = browser.post(step_url(draft, "incident"), {"incident": hidden.pk})

    assert "API key leak" in page and "Embargoed breach" not in page
    assert response.status_code == 200 and "Choose one of the incidents listed." in response.content.decode()
    draft.refresh_from_db()
    assert draft.incident is None


def test_an_incomplete_draft_sends_the_reporter_to_the_first_missing_step(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "review"), {"submit": ""})

    assert response.url == step_url(draft, "transfers") + "?missing=1"
    assert "is not complete yet" in browser.get(response.url).content.decode()
    assert not Report.objects.exists()


def test_an_exe_disguised_as_a_png_is_refused_and_nothing_is_stored(browser, incident, draft_storage):
    draft = draft_at_transfers(browser, incident)
    exe = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 200 + b"This program cannot be run in DOS mode."

    response = browser.post(step_url(draft, "evidence"),
                            {"kind": "screenshot", "file": upload("cat.png", exe), "upload": ""})

    assert response.status_code == 400
    assert 'id="id_file_error"' in response.content.decode()
    assert not DraftUpload.objects.exists()
    assert not draft_storage.exists(f"drafts/{draft.pk}")


def test_an_oversized_upload_is_answered_413_with_a_message(browser, incident, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    draft = draft_at_transfers(browser, incident)
    big = png() + b"\x00" * (400 * 1024)

    response = browser.post(step_url(draft, "evidence"),
                            {"kind": "screenshot", "file": upload("big.png", big), "upload": ""})

    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert not DraftUpload.objects.exists()


def test_a_file_can_be_removed_from_the_draft(browser, incident):
    draft = draft_at_transfers(browser, incident)
    add_files(browser, draft, {"screenshot": ("a.png", png())})
    added = DraftUpload.objects.get()

    response = browser.post(reverse("incidents:draft-upload-remove", args=[draft.pk, added.pk]))

    assert response.url == step_url(draft, "evidence")
    assert not DraftUpload.objects.exists()


def test_publishing_by_name_needs_the_name(browser, incident):
    draft = draft_at_transfers(browser, incident)

    response = browser.post(step_url(draft, "consent"), {
        "consent_publish": "named", "consent_law_enforcement": "no", "truthful": "on"})

    assert "Enter the name to publish" in response.content.decode()


def test_law_enforcement_sharing_is_an_explicit_choice(browser, incident):
    draft = draft_at_transfers(browser, incident)

    page = browser.get(step_url(draft, "consent")).content.decode()
    response = browser.post(step_url(draft, "consent"), {"consent_publish": "pseudonymous", "truthful": "on"})

    choices = re.findall(r'<input[^>]*name="consent_law_enforcement"[^>]*>', page)
    assert len(choices) == 2 and not any("checked" in choice for choice in choices)
    assert "consent_law_enforcement_error" in response.content.decode()


def test_a_draft_can_be_discarded(browser, incident):
    draft = draft_at_transfers(browser, incident)

    assert browser.get(reverse("incidents:draft-discard", args=[draft.pk])).status_code == 200
    response = browser.post(reverse("incidents:draft-discard", args=[draft.pk]))

    assert response.url == reverse("incidents:draft-start")
    assert not ReportDraft.objects.exists()


@pytest.mark.parametrize("url", ["/reports/new/", "/reports/check-tx/?chain=eip155:1&tx_hash=0x1"])
def test_an_anonymous_visitor_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_an_anonymous_visitor_cannot_open_a_draft(client, incident):
    draft = ReportDraft.objects.create(reporter=UserFactory())

    response = client.get(step_url(draft, "incident"))

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


def test_a_report_started_from_an_incidents_page_opens_at_the_second_step(client, incident):
    user = UserFactory()
    client.force_login(user)

    page = client.get(reverse("incidents:detail", args=[incident.slug])).content.decode()
    response = client.post(reverse("incidents:draft-start"), {"incident": incident.slug})

    assert "Report a loss in this incident" in page
    draft = ReportDraft.objects.get(reporter=user)
    assert draft.incident == incident
    assert response["Location"] == reverse("incidents:draft-step", args=[draft.pk, "account"])
