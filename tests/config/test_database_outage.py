"""While the database is unreachable, requests get a clean 503, and service resumes without a restart."""

import socket
from contextlib import contextmanager

import pytest
from django.db import connection
from django.test import Client

pytestmark = pytest.mark.django_db(transaction=True)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


@contextmanager
def database_unreachable():
    """Point the real connection at a database that is not there, then back."""
    saved = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = "/nonexistent-folder/lossproof.sqlite3"
    else:
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(closed_port()))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


@pytest.mark.parametrize("path", ["/", "/incidents/api-key-leak-2022/"])
def test_a_page_answers_503_without_internals_while_the_database_is_down(path):
    client = Client(raise_request_exception=False)

    with database_unreachable():
        response = client.get(path)

    body = response.content.decode()
    assert response.status_code == 503 and response["Retry-After"] == "30"
    assert "briefly unavailable" in body
    assert "Traceback" not in body and "OperationalError" not in body and "sqlite" not in body.lower()


def test_the_api_answers_503_in_json_while_the_database_is_down():
    client = Client(raise_request_exception=False)

    with database_unreachable():
        response = client.get("/api/v1/incidents/any/releases/")

    assert response.status_code == 503
    assert "unavailable" in response.json()["detail"]


def test_the_site_serves_again_once_the_database_is_back():
    client = Client(raise_request_exception=False)
    with database_unreachable():
        client.get("/")

    assert client.get("/").status_code == 200
