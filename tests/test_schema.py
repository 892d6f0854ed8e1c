"""The API's own OpenAPI schema: it generates cleanly, its docs page runs under the CSP, and the
API answers every request fuzzed from it without a server error."""

import re

import hypothesis
import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core import signals
from django.core.cache import cache
from django.core.management import call_command
from django.db import close_old_connections
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from accounts.models import User
from accounts.services import token_issue
from config.wsgi import application
from incidents.models import Asset, IncidentChain
from incidents.services import evidence_attach
from tests.factories import ClaimFactory, ExchangeFactory, IncidentFactory, ReportFactory

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def test_the_schema_generates_without_errors_or_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml"))

    assert "/api/v1/reports/{report_id}/evidence/" in (tmp_path / "schema.yml").read_text()


def test_the_schema_is_public_and_describes_token_auth(client):
    response = client.get("/api/schema/", headers={"Accept": "application/json"})

    assert response.status_code == 200
    token_auth = response.json()["components"]["securitySchemes"]["tokenAuth"]
    assert (token_auth["type"], token_auth["in"], token_auth["name"]) == ("apiKey", "header", "Authorization")


def test_the_docs_page_loads_only_local_scripts_that_exist(client):
    response = client.get("/api/docs/")
    page = response.content.decode()

    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    scripts = re.findall(r"<script([^>]*)>", page)
    assert scripts and all('src="/' in attributes for attributes in scripts)  # nothing inline or remote
    for path in re.findall(r'(?:src|href)="/static/([^"]+)"', page):
        assert finders.find(path), f"{path} is not a static file"
    assert client.get("/api/docs/?script=").headers["Content-Type"].startswith("application/javascript")


# --- Fuzzing every /api/v1/ operation from the schema ---------------------------------------


# Loaded from the WSGI application, which then serves the fuzzed requests in-process.
schema = schemathesis.openapi.from_wsgi("/api/schema/", application).include(path_regex=r"^/api/v1/")


@pytest.fixture
def in_process_api(db, settings):
    """Let the in-process API use the test's database, without throttling."""
    # Throttling would turn most fuzzed writes into 429s; it has its own test in tests/incidents.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"reports": None}}
    cache.clear()
    # As Django's test client does: the end of a request must not close the test's transaction.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def incident():
    incident = IncidentFactory()
    IncidentChain.objects.create(incident=incident, caip2="eip155:1")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    ExchangeFactory(incident=incident, name="Binance")
    return incident


@pytest.fixture
def reporter_token():
    return token_issue(email="reporter@example.org", role="reporter")


@schema.parametrize()
# Modest and the same on every run: 25 examples per operation, no example database.
@hypothesis.settings(max_examples=25, derandomize=True, database=None, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.too_slow,
                                            hypothesis.HealthCheck.filter_too_much,
                                            hypothesis.HealthCheck.function_scoped_fixture])
def test_the_api_never_fails_with_a_server_error(case, in_process_api, incident, reporter_token):
    aim_at_real_data(case, incident)

    case.call_and_validate(headers={"Authorization": f"Token {reporter_token}"}, checks=CHECKS)


def aim_at_real_data(case, incident) -> None:
    """Point a fuzzed request at the caller's own fresh report and at a published incident.

    Random ids and slugs would only ever meet 404 and "no such incident"; this way the fuzzed
    bodies reach the validation, storage and erasure code behind them.
    """
    if "report_id" in (case.path_parameters or {}):
        reporter = User.objects.get(email="reporter@example.org")
        report = ReportFactory(incident=incident, reporter=reporter)
        ClaimFactory(report=report, chain="eip155:1")
        case.path_parameters["report_id"] = report.pk
    if "evidence_id" in (case.path_parameters or {}):
        reporter = User.objects.get(email="reporter@example.org")
        evidence = evidence_attach(report=ReportFactory(incident=incident, reporter=reporter),
                                   kind="trade_export", data=b"Date(UTC),Pair,Side\n2022-11-20,ABCBTC,BUY\n")
        case.path_parameters["evidence_id"] = evidence.pk
    if "slug" in (case.path_parameters or {}):
        case.path_parameters["slug"] = incident.slug
    if isinstance(case.body, dict) and isinstance(case.body.get("incident"), str):
        case.body["incident"] = incident.slug
