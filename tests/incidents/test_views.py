"""The plain incident pages show published incidents to everyone and the rest to staff only."""

import pytest

from tests.factories import IncidentFactory, ReportFactory, UserFactory, login_with_second_factor

pytestmark = pytest.mark.django_db


def test_the_home_page_lists_published_incidents_only(client):
    IncidentFactory(title="Published breach")
    IncidentFactory(title="Draft breach", published=False)

    page = client.get("/").content.decode()

    assert "Published breach" in page
    assert "Draft breach" not in page


def test_an_unpublished_incident_is_not_found_for_the_public(client):
    incident = IncidentFactory(published=False)

    assert client.get(f"/incidents/{incident.slug}/").status_code == 404


def test_staff_can_preview_an_unpublished_incident(client):
    incident = IncidentFactory(published=False, title="Draft breach")
    login_with_second_factor(client, UserFactory(is_staff=True))

    response = client.get(f"/incidents/{incident.slug}/")

    assert response.status_code == 200
    assert "Draft breach" in response.content.decode()


def test_the_incident_page_shows_no_live_totals_before_a_release_and_escapes_user_text(client):
    # The public sees published releases only (the dashboard, tests/dashboards): live sums stay private.
    incident = IncidentFactory(description="<script>alert(1)</script>")
    ReportFactory(incident=incident, claimed_loss_usd=1200)
    ReportFactory(incident=incident, claimed_loss_usd=300)

    response = client.get(f"/incidents/{incident.slug}/")
    page = response.content.decode()

    assert "1500.00" not in page and "Not yet released" in page
    assert "<script>alert(1)</script>" not in page
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
