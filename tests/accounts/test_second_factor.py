"""Moderators, liaisons and admins sign in with a second factor (TOTP); nothing opens without it."""

import re

import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 7"
SECRET_RE = re.compile(r"\b([A-Z2-7]{32})\b")


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()  # rate limits and used TOTP codes live in the cache
    yield
    cache.clear()


def account(role: str, **fields) -> User:
    user = User.objects.create_user(username=f"{role}-person", email=f"{role}@example.org", password=PASSWORD,
                                    role=role, **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


def code_for(secret: str, offset: int = 0) -> str:
    counters = list(yield_hotp_counters_from_time())
    return format_hotp_value(hotp_value(secret, counters[len(counters) // 2 + offset]))


def sign_in(client, user):
    return client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})


def enrol(client) -> str:
    """Follow the enrolment page as a person would: read the secret shown, answer with a code."""
    page = client.get(reverse("mfa_activate_totp"))
    if page.status_code == 302:  # allauth asks for the password again before a factor changes
        client.post(page.url, {"password": PASSWORD})
        page = client.get(reverse("mfa_activate_totp"))
    secret = SECRET_RE.search(page.content.decode()).group(1)
    response = client.post(reverse("mfa_activate_totp"), {"code": code_for(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    return secret


@pytest.mark.parametrize("fields", [{"role": Role.MODERATOR}, {"role": Role.LIAISON},
                                    {"role": Role.REPORTER, "is_staff": True, "is_superuser": True}])
def test_first_sign_in_leads_to_enrolment_before_any_page(client, fields):
    user = account(**fields)

    sign_in(client, user)

    for path in ["/", "/reports/", "/moderation/", "/admin/", "/liaison/tickets/"]:
        response = client.get(path)
        assert response.status_code == 302 and response.url.startswith(reverse("mfa_activate_totp")), path


# Enrolment counts as the session's second factor once it commits: a real commit is needed.
@pytest.mark.django_db(transaction=True)
def test_a_moderator_enrols_then_reaches_the_queue(client):
    user = account(role=Role.MODERATOR)
    sign_in(client, user)

    enrol(client)

    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists()
    assert client.get(reverse("moderation:queue")).status_code == 200


# Enrolment counts as the session's second factor once it commits: a real commit is needed.
@pytest.mark.django_db(transaction=True)
def test_the_next_sign_in_asks_for_a_code_and_refuses_a_reused_one(client):
    user = account(role=Role.MODERATOR)
    sign_in(client, user)
    secret = enrol(client)
    client.post(reverse("account_logout"))

    sign_in(client, user)
    assert client.get(reverse("moderation:queue")).status_code == 302  # password alone is not enough
    code = code_for(secret)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    assert client.get(reverse("moderation:queue")).status_code == 200
    client.post(reverse("account_logout"))

    sign_in(client, user)
    reused = client.post(reverse("mfa_authenticate"), {"code": code})

    assert reused.status_code == 200 and "Incorrect code" in reused.content.decode()
    assert client.get(reverse("moderation:queue")).status_code == 302


# Enrolment counts as the session's second factor once it commits: a real commit is needed.
@pytest.mark.django_db(transaction=True)
def test_a_moderator_cannot_remove_their_second_factor(client):
    user = account(role=Role.MODERATOR)
    sign_in(client, user)
    enrol(client)

    client.post(reverse("mfa_deactivate_totp"))

    assert Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def test_a_reporter_needs_no_second_factor(client):
    user = account(role=Role.REPORTER)

    sign_in(client, user)

    assert client.get(reverse("incidents:my-reports")).status_code == 200


def test_the_api_answers_403_to_a_privileged_session_without_a_second_factor(client):
    user = account(role=Role.LIAISON)
    sign_in(client, user)

    response = client.get("/api/v1/liaison/tickets/")

    assert response.status_code == 403 and "second factor" in response.json()["detail"]


def test_the_admin_signs_in_through_allauth(client):
    response = client.get("/admin/login/?next=/admin/")

    assert response.status_code == 302 and response.url.startswith(reverse("account_login"))


# --- Security keys (WebAuthn) beside TOTP ---------------------------------------------------------


@pytest.mark.parametrize(("debug", "insecure_origin"), [("1", "True"), ("0", "False")])
def test_security_keys_are_offered_beside_totp_and_never_instead_of_the_password(debug, insecure_origin):
    """The settings as each environment reads them: http://localhost is accepted in development only."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "DEBUG": debug, "SECRET_KEY": "x" * 64, "ALLOWED_HOSTS": "lossproof.example",
           "REPORT_REF_KEY": "r" * 40, "AUDIT_KEY": "a" * 40, "EMAIL_HOST": "smtp.lossproof.example",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    code = ("from django.conf import settings as s; "
            "print(s.MFA_SUPPORTED_TYPES, s.MFA_PASSKEY_LOGIN_ENABLED, s.MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN)")
    result = subprocess.run([sys.executable, "-c", f"import django; django.setup(); {code}"], env=env,
                            cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)

    assert result.stdout.split("] ")[1].split() == ["False", insecure_origin], result.stderr
    assert {"'totp'", "'recovery_codes'", "'webauthn'"} <= set(result.stdout.split("]")[0][1:].split(", "))


def test_a_moderator_with_a_second_factor_can_open_the_security_key_page(client):
    from tests.factories import login_with_second_factor

    user = account(role=Role.MODERATOR)
    login_with_second_factor(client, user)

    page = client.get(reverse("mfa_add_webauthn"))
    if page.status_code == 302:  # allauth asks for the password again before a factor changes
        client.post(page.url, {"password": PASSWORD})
        page = client.get(reverse("mfa_add_webauthn"))

    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="mfa_webauthn_add"' in html and "mfa/js/webauthn.js" in html
    assert "<script>" not in html.replace('<script type="application/json"', "")  # CSP: no inline script
    assert reverse("mfa_add_webauthn") in client.get(reverse("mfa_index")).content.decode()


def security_key(user, name: str = "key") -> Authenticator:
    # What allauth stores once a key signed the enrolment challenge; no real key is needed to read it.
    return Authenticator.objects.create(user=user, type=Authenticator.Type.WEBAUTHN,
                                        data={"name": name, "credential": {}, "passwordless": False})


def test_a_security_key_counts_as_enrolled_and_the_next_sign_in_asks_for_a_second_factor(client):
    user = account(role=Role.MODERATOR)
    security_key(user)
    sign_in(client, user)

    response = client.get(reverse("moderation:queue"))

    # Enrolled: sent to prove the second factor, not to set up TOTP first.
    assert response.status_code == 302 and reverse("mfa_activate_totp") not in response.url


def test_a_moderators_only_security_key_stays_and_a_spare_one_can_go():
    from accounts.adapter import MFAAdapter

    user = account(role=Role.MODERATOR)
    only = security_key(user)
    assert MFAAdapter().can_delete_authenticator(only) is False
    spare = security_key(user, "spare")
    assert MFAAdapter().can_delete_authenticator(spare) is True
    reporter_key = security_key(account(role=Role.REPORTER))
    assert MFAAdapter().can_delete_authenticator(reporter_key) is True
