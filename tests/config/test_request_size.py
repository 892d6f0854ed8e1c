"""Bodies larger than any upload may be are refused before anything reads them."""

import pytest

pytestmark = pytest.mark.django_db

LIMIT = 2048


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.EVIDENCE_MAX_BYTES = LIMIT


def oversized(client, path: str):
    from config.middleware import REQUEST_MARGIN_BYTES

    body = b"x" * (LIMIT + REQUEST_MARGIN_BYTES + 1)
    return client.generic("POST", path, body, content_type="application/octet-stream")


def test_it_answers_413_with_a_page_for_an_oversized_form_post(client):
    response = oversized(client, "/accounts/login/")

    assert response.status_code == 413
    assert b"too large" in response.content and b"Nothing was stored" in response.content


def test_it_answers_413_in_json_for_the_api(client):
    response = oversized(client, "/api/v1/reports/")

    assert response.status_code == 413
    assert "too large" in response.json()["detail"]


def test_a_body_within_the_limit_reaches_the_view(client):
    response = client.post("/accounts/login/", {"login": "nobody@example.org", "password": "x" * 12})

    assert response.status_code == 200


def test_the_413_page_speaks_the_askers_language_not_the_last_one_served(client):
    client.get("/", headers={"Accept-Language": "es"})  # leaves this thread in Spanish

    response = oversized(client, "/accounts/login/")

    assert response.status_code == 413 and "too large" in response.content.decode()
