"""The moderators' part of the demo: two moderator accounts with TOTP secrets, and a queue worth working.

Kept apart from devtools.demo so that each part of the demo can change without the other.
The queue gets a large report (above DECISION_SECOND_REVIEW_USD, so the two-person rule can be
tried) and a transfer cited by two reports (contested until a moderator binds it).
"""

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.db import transaction

from accounts.models import Role, User
from devtools.chain import AnvilNode, send_eth, to_base_units
from devtools.demo import CHAIN, SLUG
from incidents.models import Incident
from incidents.services import report_create

MODERATORS = ("moderator1@demo.lossproof.test", "moderator2@demo.lossproof.test")


@dataclass
class SignIn:
    email: str
    password: str
    totp_secret: str

    def otpauth_url(self) -> str:
        """Return the URL an authenticator app takes (most accept it pasted, or as a QR code)."""
        return f"otpauth://totp/Lossproof:{self.email}?secret={self.totp_secret}&issuer=Lossproof"


def moderation_demo_seed(*, node: AnvilNode) -> list[SignIn]:
    """Make the moderation demo's transfers and reports; return the admin's and moderators' sign-ins."""
    large_victim, shared_victim = node.accounts[8], node.accounts[9]
    attacker = node.accounts[5]  # the demo incident's first attacker address
    large = send_eth(node.rpc, sender=large_victim, to=attacker, wei=to_base_units(12, 18))
    shared = send_eth(node.rpc, sender=shared_victim, to=attacker, wei=to_base_units("1.5", 18))
    with transaction.atomic():
        sign_ins = [_second_factor(User.objects.get(username="admin"))]
        sign_ins += [_moderator(email) for email in MODERATORS]
        _queue(Incident.objects.get(slug=SLUG), large=(large_victim, large["transactionHash"]),
               shared=(shared_victim, shared["transactionHash"]))
    return sign_ins


def _moderator(email: str) -> SignIn:
    user, _created = User.objects.get_or_create(username=email.split("@")[0], defaults={"email": email})
    password = secrets.token_urlsafe(12)
    user.role, user.is_staff, user.is_superuser = Role.MODERATOR, False, False
    user.set_password(password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=email,
                                          defaults={"verified": True, "primary": True})
    return SignIn(email=email, password=password, totp_secret=_second_factor(user).totp_secret)


def _second_factor(user: User) -> SignIn:
    """Give the account a fresh TOTP secret (replacing an older one) and return it."""
    Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).delete()
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    return SignIn(email=user.email, password="", totp_secret=secret)


def _queue(incident: Incident, *, large: tuple[str, str], shared: tuple[str, str]) -> None:
    binance = incident.exchanges.get(name="Binance")
    kraken = incident.exchanges.get(name="Kraken")
    sender, tx_hash = large
    report_create(
        incident=incident, exchange=binance, claimed_loss_usd=Decimal("15500"), loss_date=date(2022, 11, 15),
        contact_email="victim-e@demo.lossproof.test",
        notes="[demo] A large loss: its decision needs a second moderator.",
        claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "ETH", "amount": Decimal("12"),
                 "from_address": sender}],
    )
    sender, tx_hash = shared
    for exchange, contact, note in ((kraken, "victim-f@demo.lossproof.test", "the sender's own report"),
                                    (binance, "griefer@demo.lossproof.test", "a stranger citing it too")):
        report_create(
            incident=incident, exchange=exchange, claimed_loss_usd=Decimal("1900"), contact_email=contact,
            notes=f"[demo] A transfer cited by two reports: {note}; contested until one is bound.",
            claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "ETH", "amount": Decimal("1.5"),
                     "from_address": sender}],
        )
