"""API tokens: issue_token prints one that authenticates; only its digest is kept."""

import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken, User
from tests.factories import login_with_second_factor

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"


def issue_token(email: str, role: str = "reporter") -> str:
    out = StringIO()
    call_command("issue_token", email, "--role", role, stdout=out)
    return out.getvalue().strip()


def get_reports(authorization: str | None):
    headers = {"Authorization": authorization} if authorization else {}
    return Client(headers=headers).get(REPORTS)


def test_issue_token_prints_a_token_that_authenticates():
    token = issue_token("reporter@example.org")

    assert get_reports(f"Token {token}").status_code == 200
    assert get_reports(f"Bearer {token}").status_code == 200
    assert User.objects.get(email="reporter@example.org").role == "reporter"


def test_only_the_tokens_digest_is_stored():
    token = issue_token("reporter@example.org")

    stored = ApiToken.objects.get()
    assert token not in (stored.digest, stored.prefix)
    assert stored.prefix == token[:8]


def test_a_second_token_for_the_same_email_reuses_the_account():
    first, second = issue_token("reporter@example.org"), issue_token("Reporter@Example.org")

    assert first != second
    assert User.objects.count() == 1
    assert get_reports(f"Token {first}").status_code == 200


def test_a_wrong_token_is_a_401_that_names_the_scheme():
    issue_token("reporter@example.org")

    response = get_reports("Token lp_not-a-real-token")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Token"


def test_no_token_is_a_401():
    assert get_reports(None).status_code == 401


def test_the_token_of_a_deactivated_account_is_refused():
    token = issue_token("reporter@example.org")
    User.objects.filter(email="reporter@example.org").update(is_active=False)

    assert get_reports(f"Token {token}").status_code == 401


def test_using_a_token_records_when_it_was_last_used():
    token = issue_token("reporter@example.org")

    get_reports(f"Token {token}")

    assert ApiToken.objects.get().last_used_at is not None


def test_a_journalist_token_reads_but_cannot_file_a_report():
    client = Client(headers={"Authorization": f"Token {issue_token('journalist@example.org', 'journalist')}"})

    assert client.get(REPORTS).status_code == 200
    assert client.post(REPORTS, {}, content_type="application/json").status_code == 403


def test_issue_token_refuses_a_bad_email():
    with pytest.raises(CommandError, match="is not an email address"):
        issue_token("not-an-email")
    assert not User.objects.exists()


def test_issue_token_refuses_an_unknown_role():
    with pytest.raises(CommandError, match="invalid choice"):
        issue_token("reporter@example.org", role="admin")
    assert not User.objects.exists()


@pytest.mark.parametrize("arguments, message", [
    (["not-an-email", "--role", "reporter"], "is not an email address"),
    (["reporter@example.org", "--role", "admin"], "invalid choice"),
])
def test_issue_token_exits_with_an_error_on_the_command_line(arguments, message):
    # Both are refused before the database is touched, so the real command runs as is.
    done = subprocess.run([sys.executable, "manage.py", "issue_token", *arguments], cwd=settings.BASE_DIR,
                          capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode != 0
    assert message in done.stderr
    assert done.stdout == ""


def test_a_token_with_another_role_says_on_stderr_that_the_role_changed():
    issue_token("staff@example.org", role="reporter")
    out, err = StringIO(), StringIO()

    call_command("issue_token", "staff@example.org", "--role", "journalist", stdout=out, stderr=err)

    assert out.getvalue().strip().startswith("lp_") and "\n" not in out.getvalue().strip()
    assert "role changed from reporter to journalist" in err.getvalue()
    assert User.objects.get(email="staff@example.org").role == "journalist"


@pytest.mark.parametrize("role", ["moderator", "liaison"])
def test_a_moderator_or_liaison_without_a_second_factor_gets_the_role_but_no_token(role):
    with pytest.raises(CommandError, match="no API token before enrolling a second factor") as refused:
        issue_token("mod@example.org", role=role)

    assert refused.value.returncode == 3
    assert User.objects.get(email="mod@example.org").role == role
    assert not ApiToken.objects.exists()


def test_a_moderator_with_a_second_factor_gets_a_token_that_expires(settings):
    settings.STAFF_TOKEN_DAYS = 7
    moderator = User.objects.create(username="mod", email="mod@example.org", role="moderator")
    login_with_second_factor(Client(), moderator)

    token = issue_token("mod@example.org", role="moderator")

    stored = ApiToken.objects.get(user=moderator)
    assert timedelta(days=6, hours=23) < stored.expires_at - timezone.now() <= timedelta(days=7)
    assert get_reports(f"Token {token}").status_code == 200
    ApiToken.objects.filter(pk=stored.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    expired = get_reports(f"Token {token}")
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]


def test_a_reporters_token_does_not_expire():
    issue_token("victim@example.org")

    assert ApiToken.objects.get().expires_at is None


def test_an_admin_account_is_never_made_a_moderator():
    User.objects.create(username="root", email="root@example.org", is_staff=True, is_superuser=True)

    with pytest.raises(CommandError, match="admin account"):
        issue_token("root@example.org", role="moderator")

    assert User.objects.get(email="root@example.org").role == "reporter"
