"""Accounts (django-allauth): verified sign-up, password reset, per-account login throttling."""

import re

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.cache import cache
from django.urls import reverse

from accounts.models import Role, User

pytestmark = pytest.mark.django_db

PASSWORD = "a long and unusual passphrase 7"
LINK_RE = r"https?://testserver(/accounts/{}/\S+?/)"


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """The rate limiter counts in the default cache: every test starts with a clean slate."""
    cache.clear()
    yield
    cache.clear()


def verified_account(email: str) -> User:
    user = User.objects.create_user(username=email.split("@")[0], email=email, password=PASSWORD)
    EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    return user


def log_in(client, email: str, password: str):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def logged_in_as(client) -> int | None:
    user_id = client.session.get("_auth_user_id")
    return int(user_id) if user_id else None


def link_in(message, path: str) -> str:
    return re.search(LINK_RE.format(path), message.body).group(1)


def failed_logins_per_account(settings) -> int:
    """Read N from the "N/period/key" part of the login_failed limit."""
    rules = settings.ACCOUNT_RATE_LIMITS["login_failed"].split(",")
    return int(next(rule for rule in rules if rule.endswith("/key")).split("/")[0])


def test_the_sign_up_page_uses_the_site_layout_with_a_label_on_every_field(client):
    page = client.get(reverse("account_signup")).content.decode()

    assert 'class="skip-link"' in page and 'id="main"' in page
    for field in ("id_email", "id_password1", "id_password2"):
        assert f'<label for="{field}"' in page


def test_signing_up_needs_the_emailed_link_before_the_first_login(client):
    response = client.post(reverse("account_signup"),
                           {"email": "victim@example.org", "password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 302
    user = User.objects.get(email="victim@example.org")
    assert user.role == Role.REPORTER and logged_in_as(client) is None
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["victim@example.org"]
    confirm_path = link_in(mail.outbox[0], "confirm-email")

    refused = log_in(client, "victim@example.org", PASSWORD)
    assert refused.status_code == 302 and refused.url == reverse("account_email_verification_sent")
    assert logged_in_as(client) is None

    assert "Confirm" in client.get(confirm_path).content.decode()  # a link scanner's GET confirms nothing
    assert not EmailAddress.objects.get(user=user).verified
    confirmed = client.post(confirm_path)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(user=user).verified
    assert logged_in_as(client) == user.pk


def test_a_forgotten_password_is_reset_through_the_emailed_link(client):
    user = verified_account("victim@example.org")

    response = client.post(reverse("account_reset_password"), {"email": "victim@example.org"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["victim@example.org"]
    form_url = client.get(link_in(mail.outbox[0], "password/reset/key")).url
    new_password = "another long passphrase 8"
    client.post(form_url, {"password1": new_password, "password2": new_password})
    client.logout()
    log_in(client, "victim@example.org", new_password)
    assert logged_in_as(client) == user.pk


def test_failed_logins_lock_that_account_only_not_everyone_behind_the_same_address(client, settings):
    victim, bystander = verified_account("victim@example.org"), verified_account("bystander@example.org")
    for _attempt in range(failed_logins_per_account(settings)):
        log_in(client, victim.email, "not the password")

    locked = log_in(client, victim.email, PASSWORD)

    assert logged_in_as(client) is None
    assert "Too many failed login attempts" in locked.content.decode()
    log_in(client, bystander.email, PASSWORD)
    assert logged_in_as(client) == bystander.pk


def test_an_unknown_email_gets_the_same_answer_as_a_wrong_password(client):
    verified_account("victim@example.org")

    wrong_password = log_in(client, "victim@example.org", "not the password")
    unknown_email = log_in(client, "nobody@example.org", "not the password")

    assert wrong_password.status_code == unknown_email.status_code == 200
    errors = [response.context["form"].errors for response in (wrong_password, unknown_email)]
    assert errors[0] == errors[1] and errors[0]
    assert 'class="errorlist nonfield"' in unknown_email.content.decode()
