"""Deny by default: every URL refuses an anonymous visitor unless it is on the reviewed public list."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = pytest.mark.django_db

# Reviewed list of pages anyone may open; each entry is a route pattern as Django prints it.
PUBLIC = {
    "",  # published incidents
    "incidents/<slug:slug>/",  # a published incident (unpublished ones are 404)
    "incidents/<slug:slug>/releases/",  # releases of a published incident
    "incidents/<slug:slug>/releases/<int:number>/<str:name>",  # their files
    "api/v1/incidents/<slug:slug>/releases/",
    "api/v1/incidents/<slug:slug>/register/",
    # The dashboard of a published incident: its charts, their files and embeds, release pages,
    # the release feed, the stats API and the methodology the figures link to.
    "incidents/<slug:slug>/charts/<slug:chart>/",
    "incidents/<slug:slug>/charts/<slug:chart>/embed/",
    "incidents/<slug:slug>/charts/<slug:chart>.<slug:fmt>",
    "incidents/<slug:slug>/releases/<int:number>/",
    "incidents/<slug:slug>/releases.atom",
    "api/v1/incidents/<slug:slug>/stats/",
    "methodology/",
    # Signing up, in and out, and recovering a password (django-allauth).
    "accounts/login/",
    "accounts/logout/",
    "accounts/inactive/",
    "accounts/signup/",
    "accounts/confirm-email/",  # "we sent you a mail" page after sign-up
    "accounts/password/reset/",
    "accounts/password/reset/done/",
    "accounts/password/reset/key/done/",
    "accounts/login/code/confirm/",
    "i18n/setlang/",  # the footer's language switch (sets a cookie, nothing else)
    # The API's description and its documentation page (assets served locally).
    "api/schema/",
    "api/docs/",
    # Probes for orchestrators and load balancers: status words, part names and error types only.
    "healthz",
    "readyz",
}
SAMPLE_ARGS = {"slug": "no-such-incident", "report_id": "1", "evidence_id": "1", "number": "1",
               "name": "reports.csv", "decision_id": "1",
               "chart": "by-exchange", "fmt": "csv"}


def routes(resolver=None, prefix: str = ""):
    """Yield every route of the project as a pattern string."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            yield from routes(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def sample_url(route: str) -> str:
    path = route
    for name, value in SAMPLE_ARGS.items():
        for converter in ("slug", "int", "str", "path"):
            path = path.replace(f"<{converter}:{name}>", value)
        path = path.replace(f"<{name}>", value)
    return "/" + path.lstrip("^").rstrip("$").replace("\\Z", "")


def project_routes():
    return [r for r in routes() if not r.startswith("admin/") and "<" not in sample_url(r)]


def test_the_public_list_names_routes_that_exist():
    assert set(project_routes()) >= PUBLIC
    assert len(set(project_routes()) - PUBLIC) >= 8  # the walk below really covers the project


@pytest.mark.parametrize("route", sorted(set(project_routes()) - PUBLIC))
def test_no_url_is_open_to_an_anonymous_visitor_unless_reviewed_as_public(client, route):
    for method in (client.get, client.post):
        response = method(sample_url(route))
        assert response.status_code in {302, 401, 403, 404, 405}, f"{method.__name__} {route} is open"


def test_the_admin_requires_a_staff_login(client):
    assert client.get("/admin/").status_code == 302


def test_a_moderator_without_a_second_factor_reaches_nothing(client):
    from accounts.models import Role
    from tests.factories import UserFactory

    client.force_login(UserFactory(role=Role.MODERATOR))
    walked = [r for r in project_routes() if not r.startswith(("accounts/", "i18n/"))]

    for route in walked:
        for method in (client.get, client.post):
            response = method(sample_url(route))
            assert response.status_code in {302, 403, 404, 405}, f"{method.__name__} {route} is open"
            if response.status_code == 302:
                assert response.url.startswith("/accounts/2fa/"), f"{method.__name__} {route}: {response.url}"
    assert client.get("/admin/").url.startswith("/accounts/2fa/")


@pytest.mark.parametrize("role", ["reporter", "journalist", "liaison"])
def test_no_other_role_reaches_a_moderator_page(client, role):
    from tests.factories import UserFactory, login_with_second_factor

    login_with_second_factor(client, UserFactory(role=role))
    moderation = [r for r in project_routes() if r.startswith("moderation/")]

    assert len(moderation) >= 5
    for route in moderation:
        for method in (client.get, client.post):
            assert method(sample_url(route)).status_code in {403, 404, 405}, f"{method.__name__} {route}"
