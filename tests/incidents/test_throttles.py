"""Write throttles on the web pages and the admin login, and ticket patterns that cannot be made slow."""

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from incidents.models import Evidence, EvidenceKind, Exchange, ReportDraft, ReportMessage
from incidents.validation import TICKET_TEXT_MAX, ticket_id_find, ticket_pattern_problem
from tests.factories import (
    ExchangeFactory,
    IncidentFactory,
    ReportFactory,
    UserFactory,
    login_with_second_factor,
)

pytestmark = pytest.mark.django_db

CSV = b"Date(UTC),Pair,Side,Price\n2022-11-20 14:05:00,PUMPUSDT,BUY,0.5\n"


@pytest.fixture(autouse=True)
def fresh_counts(settings):
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"reports": "3/hour"}}
    yield
    cache.clear()


@pytest.fixture
def reporter():
    return UserFactory()


@pytest.fixture
def report(reporter):
    report = ReportFactory(reporter=reporter)
    ReportMessage.objects.create(report=report, from_moderator=True, body="Which exchange?")
    return report


@pytest.fixture
def owner(client, reporter):
    client.force_login(reporter)
    return client


def upload(owner, report, n: int):
    data = CSV + f"2022-11-20 14:0{n}:00,PUMPUSDT,SELL,0.4\n".encode()
    return owner.post(reverse("incidents:report-evidence-add", args=[report.pk]),
                      {"kind": EvidenceKind.TRADE_EXPORT, "file": SimpleUploadedFile(f"t{n}.csv", data)})


def answer(owner, report, n: int):
    return owner.post(reverse("incidents:report-answer", args=[report.pk]), {"body": f"Binance, answer {n}"})


def test_evidence_uploads_on_the_report_page_are_throttled_per_user(owner, report):
    statuses = [upload(owner, report, n).status_code for n in range(5)]

    assert statuses == [302, 302, 302, 429, 429]
    assert Evidence.objects.filter(report=report).count() == 3


def test_a_throttled_page_says_when_to_come_back(owner, report):
    for n in range(3):
        answer(owner, report, n)

    response = answer(owner, report, 3)

    assert response.status_code == 429 and int(response["Retry-After"]) > 0
    assert "Too many changes" in response.content.decode()
    assert ReportMessage.objects.filter(report=report, from_moderator=False).count() == 3


def test_answers_and_uploads_share_one_count_with_the_api(owner, report, reporter):
    api = reverse("incidents:api-report-list")
    owner.post(api, {"incident": report.incident.slug}, content_type="application/json")
    answer(owner, report, 1)
    upload(owner, report, 1)

    assert answer(owner, report, 2).status_code == 429


def test_the_throttle_counts_per_user_not_for_everyone(owner, report, client):
    for n in range(4):
        answer(owner, report, n)
    other = UserFactory()
    theirs = ReportFactory(reporter=other)
    ReportMessage.objects.create(report=theirs, from_moderator=True, body="Which exchange?")
    client.force_login(other)

    assert answer(client, theirs, 1).status_code == 302


def test_wizard_uploads_and_submissions_are_throttled(owner, reporter):
    IncidentFactory()
    drafts = [ReportDraft.objects.create(reporter=reporter) for _ in range(2)]
    url = reverse("incidents:draft-step", args=[drafts[0].pk, "evidence"])
    files = [SimpleUploadedFile(f"t{n}.csv", CSV + b"x,y,z,%d\n" % n) for n in range(4)]
    statuses = [owner.post(url, {"kind": EvidenceKind.TRADE_EXPORT, "upload": "1", "file": file}).status_code
                for file in files]
    review = owner.post(reverse("incidents:draft-step", args=[drafts[1].pk, "review"]))

    assert statuses[:3] == [302, 302, 302] and statuses[3] == 429
    assert review.status_code == 429


# --- the admin login ---------------------------------------------------------------------------------


def test_forty_wrong_admin_passwords_then_the_right_one_does_not_log_in(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff.set_password("the-right-Password-42")
    staff.save()
    login = reverse("admin:login")

    for n in range(40):
        client.post(login, {"username": staff.username, "password": f"wrong-{n}"})
    client.post(login, {"username": staff.username, "password": "the-right-Password-42"})

    assert client.get(reverse("admin:index")).status_code == 302  # still sent to log in
    assert "_auth_user_id" not in client.session


def test_the_admin_login_is_the_site_login_with_its_throttle(client):
    response = client.get(reverse("admin:login") + "?next=/admin/")

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login")) and "next=%2Fadmin%2F" in response.url


def test_a_signed_in_non_staff_user_is_told_no_and_never_loops(client):
    client.force_login(UserFactory())

    response = client.get(reverse("admin:login") + "?next=/admin/")

    assert response.status_code == 403


def test_staff_signed_in_through_the_site_with_their_second_factor_reach_the_admin(client):
    login_with_second_factor(client, UserFactory(is_staff=True, is_superuser=True))

    assert client.get(reverse("admin:index")).status_code == 200


# --- ticket patterns ---------------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", [r"(a+)+$", r"Ticket #(\d{8})", r"\[(\d{7})\]"])
def test_linear_time_patterns_are_accepted(pattern):
    assert ticket_pattern_problem(pattern) is None


@pytest.mark.parametrize("pattern", [r"(\d)\1", r"(?=Ticket)(\d+)", r"(?<=#)(\d+)", r"Ticket #\d+"])
def test_patterns_a_linear_engine_cannot_run_or_without_a_group_are_refused(pattern):
    assert ticket_pattern_problem(pattern)


def test_a_catastrophic_pattern_runs_in_linear_time_on_attacker_text():
    text = "a" * (TICKET_TEXT_MAX - 1) + "!"

    assert ticket_id_find(pattern=r"((a+)+)$", value=text) is None  # backtracking would never end


def test_only_a_bounded_length_of_attacker_text_is_searched():
    text = "x" * TICKET_TEXT_MAX + "Ticket #12345678"

    assert ticket_id_find(pattern=r"Ticket #(\d{8})", value=text) is None


def test_the_admin_refuses_a_pattern_the_linear_engine_cannot_run(client):
    login_with_second_factor(client, UserFactory(is_staff=True, is_superuser=True))
    exchange = ExchangeFactory()
    incident = exchange.incident
    url = reverse("admin:incidents_incident_change", args=[incident.pk])
    page = client.get(url)
    assert page.status_code == 200

    data = _inline_form_data(page.context["adminform"].form.initial, incident, exchange, r"(\d+)(?=x)\1")
    response = client.post(url, data)

    assert response.status_code == 200  # shown again with the error, not saved
    assert "linear-time" in response.content.decode()
    assert Exchange.objects.get(pk=exchange.pk).ticket_id_regex == r"Ticket #(\d{8})"


def test_load_incident_refuses_a_backtracking_only_pattern(tmp_path):
    path = tmp_path / "incident.json"
    path.write_text('{"slug": "x", "title": "X", "window": {"start": "2022-11-01", "end": "2022-12-31"},'
                    ' "chains": [], "attacker_addresses": [], "safelisted_addresses": [], "assets": [],'
                    ' "exchanges": [{"name": "B", "support_domains": ["b.com"],'
                    r' "ticket_id_regex": "(\\d+)\\1"}], "dkim_keys": []}')

    with pytest.raises(CommandError, match="linear-time"):
        call_command("load_incident", str(path))


def _inline_form_data(initial: dict, incident, exchange, pattern: str) -> dict:
    data = {"slug": incident.slug, "title": incident.title, "description": incident.description,
            "window_start_0": incident.window_start.strftime("%Y-%m-%d"),
            "window_start_1": incident.window_start.strftime("%H:%M:%S"),
            "window_end_0": incident.window_end.strftime("%Y-%m-%d"),
            "window_end_1": incident.window_end.strftime("%H:%M:%S"),
            "tolerance": str(incident.tolerance)}
    for prefix in ("chains", "attacker_addresses", "safelisted_addresses", "assets", "dkim_keys"):
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    data |= {"exchanges-TOTAL_FORMS": "1", "exchanges-INITIAL_FORMS": "1",
             "exchanges-0-id": str(exchange.pk), "exchanges-0-incident": str(incident.pk),
             "exchanges-0-name": exchange.name, "exchanges-0-support_domains": '["exchange.example"]',
             "exchanges-0-ticket_id_regex": pattern}
    return data
