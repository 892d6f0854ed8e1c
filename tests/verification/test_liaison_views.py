"""The liaison page and API: one exchange's tickets, answers recorded, other exchanges out of reach."""

import pytest

from incidents.models import LiaisonBinding, TicketAttestation
from tests.factories import (
    ExchangeFactory,
    IncidentFactory,
    ReportFactory,
    UserFactory,
    login_with_second_factor,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    incident = IncidentFactory()
    binance = ExchangeFactory(incident=incident, name="Binance")
    kraken = ExchangeFactory(incident=incident, name="Kraken")
    liaison = UserFactory(role="liaison")
    LiaisonBinding.objects.create(user=liaison, exchange=binance)
    mine = ReportFactory(incident=incident, exchange=binance, support_ticket_id="11112222")
    theirs = ReportFactory(incident=incident, exchange=kraken, support_ticket_id="99998888")
    return liaison, mine, theirs


def test_the_api_lists_only_the_liaisons_exchange_tickets(client, setup):
    liaison, _, _ = setup
    login_with_second_factor(client, liaison)

    answer = client.get("/api/v1/liaison/tickets/").json()

    assert [row["ticket_id"] for row in answer] == ["11112222"]


def test_the_api_records_an_answer_with_who_and_when(client, setup):
    liaison, mine, _ = setup
    login_with_second_factor(client, liaison)

    response = client.post(f"/api/v1/liaison/tickets/{mine.pk}/answer/", {"answer": "attested"},
                           content_type="application/json")

    assert response.status_code == 201
    attestation = TicketAttestation.objects.get()
    assert (attestation.answered_by, attestation.answer) == (liaison, "attested")
    assert attestation.ticket_id == "11112222" and attestation.answered_at is not None


def test_the_api_cannot_touch_another_exchanges_ticket(client, setup):
    liaison, _, theirs = setup
    login_with_second_factor(client, liaison)

    response = client.post(f"/api/v1/liaison/tickets/{theirs.pk}/answer/", {"answer": "denied"},
                           content_type="application/json")

    assert response.status_code == 404
    assert not TicketAttestation.objects.exists()


def test_the_api_refuses_an_unknown_answer(client, setup):
    liaison, mine, _ = setup
    login_with_second_factor(client, liaison)

    response = client.post(f"/api/v1/liaison/tickets/{mine.pk}/answer/", {"answer": "maybe"},
                           content_type="application/json")

    assert response.status_code == 400


@pytest.mark.parametrize("who", ["anonymous", "reporter"])
def test_people_who_are_not_liaisons_are_refused(client, setup, who):
    if who == "reporter":
        client.force_login(UserFactory())

    assert client.get("/api/v1/liaison/tickets/").status_code in {401, 403}
    assert client.get("/liaison/tickets/").status_code in {302, 404}


def test_the_page_shows_the_tickets_and_records_a_denial(client, setup):
    liaison, mine, theirs = setup
    login_with_second_factor(client, liaison)

    page = client.get("/liaison/tickets/").content.decode()
    response = client.post(f"/liaison/tickets/{mine.pk}/answer/", {"answer": "denied"})

    assert "11112222" in page and "99998888" not in page
    assert response.status_code == 302
    assert TicketAttestation.objects.get().answer == "denied"
    assert client.post(f"/liaison/tickets/{theirs.pk}/answer/", {"answer": "denied"}).status_code == 404
