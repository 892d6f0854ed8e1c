"""A victim of the old sheet takes over the imported row filed with their confirmed email address."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from audit.models import AuditEvent
from incidents.models import ReportSource
from tests.factories import ReportFactory, UserFactory

pytestmark = pytest.mark.django_db


def imported(email: str, row: int = 2, **fields):
    fields = {"reporter": None, **fields}
    return ReportFactory(source=ReportSource.IMPORT, source_file="sheet.csv", source_row=row,
                         contact_email=email, **fields)


@pytest.fixture
def victim():
    user = UserFactory(email="Victim@Example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def test_the_row_shows_under_my_reports_and_can_be_taken_over(client, victim):
    row = imported("victim@example.org")
    client.force_login(victim)

    listing = client.get(reverse("incidents:my-reports")).content.decode()
    response = client.post(reverse("incidents:report-take-over", args=[row.pk]))

    assert "sheet.csv:2" in listing and f"Take over row {row.pk}" in listing
    assert response.status_code == 302 and response.url == reverse("incidents:report-detail", args=[row.pk])
    row.refresh_from_db()
    assert row.reporter == victim
    event = AuditEvent.objects.order_by("-seq").first()
    assert (event.action, event.subject, event.data) == ("report_takeover", f"report:{row.pk}",
                                                         {"source": "sheet.csv:2"})
    assert client.get(reverse("incidents:report-detail", args=[row.pk])).status_code == 200


def test_an_unconfirmed_address_takes_nothing_over(client):
    user = UserFactory(email="victim@example.org")
    EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)
    row = imported("victim@example.org")
    client.force_login(user)

    assert f"Take over row {row.pk}" not in client.get(reverse("incidents:my-reports")).content.decode()
    client.post(reverse("incidents:report-take-over", args=[row.pk]))

    row.refresh_from_db()
    assert row.reporter is None


@pytest.mark.parametrize("case", ["another address", "already taken", "a web report"])
def test_someone_elses_row_cannot_be_taken_over(client, victim, case):
    row = {"another address": lambda: imported("someone@example.org"),
           "already taken": lambda: imported("victim@example.org", reporter=UserFactory()),
           "a web report": lambda: ReportFactory(reporter=None, contact_email="victim@example.org")}[case]()
    owner = row.reporter
    client.force_login(victim)

    response = client.post(reverse("incidents:report-take-over", args=[row.pk]), follow=True)

    assert "not yours to take over" in response.content.decode()
    row.refresh_from_db()
    assert row.reporter == owner
