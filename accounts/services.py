"""Account services: API tokens."""

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Role, User
from accounts.roles import has_second_factor, needs_second_factor
from audit.models import AuditAction
from audit.services import audit_record


class TokenRefused(Exception):
    """The account may not hold an API token yet; the message says what to do."""


TOKEN_PREFIX = "lp_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for, not a secret)


def token_digest(token: str) -> str:
    """Return the SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_issue(*, email: str, role: str) -> str:
    """Create (or find by email) the user, give them ``role`` and return a new API token.

    The role is given first and kept even when the token is refused: a new moderator must be
    able to sign in and enrol the second factor their token waits for.
    """
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    user = _user_with_role(email=email, role=role)
    expires_at = _privileged_expiry(user)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        ApiToken.objects.create(user=user, digest=token_digest(token), prefix=token[:8],
                                expires_at=expires_at)
        audit_record(actor=None, action=AuditAction.TOKEN_ISSUE, subject=f"user:{user.pk}",
                     data={"role": role, **({"expires": expires_at.isoformat()} if expires_at else {})})
    return token


@transaction.atomic
def _user_with_role(*, email: str, role: str) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, username=_free_username(email), role=role)
        user.set_unusable_password()
    if role == Role.MODERATOR and (user.is_staff or user.is_superuser):
        # Moderators work on their own pages; an admin keeps the admin, never both on one account.
        raise TokenRefused(f"{email} is an admin account; give the moderator role to a separate account.")
    user.role = role
    user.save()
    return user


def _privileged_expiry(user: User):
    """Return when a privileged account's token expires; refuse one without a second factor."""
    if not needs_second_factor(user):
        return None
    if not has_second_factor(user):
        raise TokenRefused(
            f"{user.email} is now a {user.role}, but gets no API token before enrolling a second "
            "factor: sign in on the site (a password reset mail sets the first password) and "
            "follow the two-factor enrolment, then ask again.")
    return timezone.now() + timedelta(days=settings.STAFF_TOKEN_DAYS)


@transaction.atomic
def role_grant(*, user: User, role: str, actor) -> None:
    """Give an account a role (an admin's action), audited; a moderator is never a superuser."""
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    previous = user.role
    User.objects.filter(pk=user.pk).update(role=role)
    user.role = role
    audit_record(actor=actor, action=AuditAction.ROLE_GRANT, subject=f"user:{user.pk}",
                 data={"role": role, "previous": previous})


def _free_username(email: str) -> str:
    base = email.split("@", 1)[0][:120] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate
