"""Every visible string of the reporter's pages is marked for translation.

The pages are rendered with a pseudo-translation that wraps each translated string in ⟦ ⟧;
any text left outside the brackets that is not data (a title, a number, a hash, an address)
is a string a translator could never reach.
"""

import re
from html.parser import HTMLParser

import pytest
from django.utils import translation

from incidents.drafts import draft_start, draft_step_save
from incidents.models import Asset, ClaimStatus
from tests.factories import (
    ClaimFactory,
    ExchangeFactory,
    IncidentChainFactory,
    IncidentFactory,
    ReportFactory,
)

pytestmark = pytest.mark.django_db

MARKED = re.compile(r"⟦[^⟦⟧]*⟧")
# Data, not prose: numbers, amounts, dates, hashes, addresses, chain ids, symbols, the brand, and
# the names of languages in their own language (the footer's language switch).
PUNCTUATION = "\\s\\d.,:;·/()\\[\\]#%+\\-\u2013\u2014|\"'\u201c\u201d\u2018\u2019\u2026?!*\u00d7$\u20ac@_=<>"
DATA = re.compile(rf"""0x[0-9a-fA-F]+|[{PUNCTUATION}]+|eip155:\d+|[A-Z]{{2,6}}|T[0-4]
                       |Lossproof|UTC|Ethereum|Bitcoin|English|español|[\w.+-]+@[\w.-]+""", re.X)
ATTRIBUTES = {"placeholder", "aria-label", "title", "alt"}


class VisibleText(HTMLParser):
    """Collect text a person sees or hears: text nodes and labelling attributes."""

    def __init__(self):
        super().__init__()
        self.chunks, self.hidden, self.untranslatable = [], 0, []

    def handle_starttag(self, tag, attrs):
        # translate="no" (HTML's own marker) holds code, such as a chart's embed snippet.
        if tag in {"script", "style"} or ("translate", "no") in attrs:
            self.hidden += 1
            self.untranslatable.append(tag)
        self.chunks += [value for name, value in attrs if name in ATTRIBUTES and value]

    def handle_endtag(self, tag):
        if self.untranslatable and tag == self.untranslatable[-1]:
            self.untranslatable.pop()
            self.hidden -= 1

    def handle_data(self, data):
        if not self.hidden and data.strip():
            self.chunks.append(data)


def unmarked(html: str, data: tuple[str, ...]) -> list[str]:
    """Return the words of ``html`` that are neither inside a translated string nor data."""
    parser = VisibleText()
    parser.feed(html)
    text = " ".join(parser.chunks)  # a translated sentence may hold a link: join before matching
    for value in data:
        text = text.replace(value, " ")
    while MARKED.search(text):
        text = MARKED.sub(" ", text)
    return [word for word in text.split() if DATA.sub("", word)]


@pytest.fixture
def pseudo_translation(monkeypatch):
    trans = translation._trans
    monkeypatch.setattr(trans, "gettext", lambda message: f"⟦{message}⟧", raising=False)
    monkeypatch.setattr(trans, "ngettext", lambda one, many, n: f"⟦{one if n == 1 else many}⟧",
                        raising=False)
    monkeypatch.setattr(trans, "pgettext", lambda context, message: f"⟦{message}⟧", raising=False)
    monkeypatch.setattr(trans, "npgettext",
                        lambda context, one, many, n: f"⟦{one if n == 1 else many}⟧", raising=False)


@pytest.fixture
def world(client):
    incident = IncidentFactory(title="Zyxel Incident", published=True)
    IncidentChainFactory(incident=incident, caip2="eip155:1")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    exchange = ExchangeFactory(incident=incident, name="Qwertex")
    report = ReportFactory(incident=incident, exchange=exchange, support_ticket_id="12345678")
    ClaimFactory(report=report, status=ClaimStatus.VERIFIED)
    client.force_login(report.reporter)
    draft = draft_start(reporter=report.reporter)
    draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})
    return {"incident": incident, "report": report, "draft": draft,
            "data": ("Zyxel Incident", "Qwertex", "exchange.example", report.reporter.email,
                     report.reporter.username)}


PAGES = [
    "/",
    "/incidents/{incident.slug}/",
    "/reports/",
    "/reports/new/",
    "/reports/drafts/{draft.pk}/incident/",
    "/reports/drafts/{draft.pk}/account/",
    "/reports/drafts/{draft.pk}/transfers/",
    "/reports/drafts/{draft.pk}/evidence/",
    "/reports/drafts/{draft.pk}/consent/",
    "/reports/drafts/{draft.pk}/review/",
    "/reports/{report.pk}/",
    "/reports/{report.pk}/withdraw/",
    "/reports/{report.pk}/ownership/",
    "/incidents/{incident.slug}/releases/",
]


@pytest.mark.parametrize("page", PAGES)
def test_every_visible_string_is_marked_for_translation(client, world, pseudo_translation, page):
    response = client.get(page.format(**world), follow=True)

    assert response.status_code == 200
    assert unmarked(response.content.decode(), world["data"]) == []


@pytest.mark.parametrize("page", ["/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"])
def test_the_account_pages_are_marked_too(client, pseudo_translation, page):
    assert unmarked(client.get(page).content.decode(), ()) == []
