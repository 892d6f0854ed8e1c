"""Account services: API tokens."""

import hashlib
import secrets

from django.db import transaction

from accounts.models import ApiToken, Role, User
from audit.services import audit_record

TOKEN_PREFIX = "lp_"  # noqa: S105 (a marker that makes leaked tokens easy to scan for, not a secret)


def token_digest(token: str) -> str:
    """Return the SHA-256 under which a token is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_issue(*, email: str, role: str) -> str:
    """Create (or find by email) the user, give them ``role`` and return a new API token."""
    if role not in Role.values:
        raise ValueError(f"role must be one of {', '.join(Role.values)}")
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, username=_free_username(email), role=role)
        user.set_unusable_password()
    user.role = role
    user.save()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    ApiToken.objects.create(user=user, digest=token_digest(token), prefix=token[:8])
    audit_record(actor=None, action="token_issue", subject=f"user:{user.pk}", data={"role": role})
    return token


def _free_username(email: str) -> str:
    base = email.split("@", 1)[0][:120] or "user"
    candidate, n = base, 1
    while User.objects.filter(username=candidate).exists():
        n += 1
        candidate = f"{base}{n}"
    return candidate
