"""factory_boy factories for the domain models."""

import time
from datetime import UTC, datetime
from decimal import Decimal

import factory

from accounts.models import Role, User
from incidents.models import Claim, ClaimStatus, Exchange, Incident, IncidentChain, Report
from incidents.queue_state import report_queue_state


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"person{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    role = Role.REPORTER


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    slug = factory.Sequence(lambda n: f"incident-{n}")
    title = factory.Sequence(lambda n: f"Incident {n}")
    window_start = datetime(2022, 11, 1, tzinfo=UTC)
    window_end = datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC)
    published = True


class IncidentChainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncidentChain

    incident = factory.SubFactory(IncidentFactory)
    caip2 = "eip155:31337"
    confirmations = 1


class ExchangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Exchange

    incident = factory.SubFactory(IncidentFactory)
    name = factory.Sequence(lambda n: f"Exchange {n}")
    support_domains = ["exchange.example"]
    ticket_id_regex = r"Ticket #(\d{8})"


class ReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Report

    incident = factory.SubFactory(IncidentFactory)
    reporter = factory.SubFactory(UserFactory)
    claimed_loss_usd = Decimal("1000")
    submitted_at = factory.LazyFunction(lambda: datetime.now(UTC))
    flags = factory.LazyFunction(list)
    resolved_flags = factory.LazyFunction(list)
    # What the verdict would store for these flags (incidents.queue_state); ClaimFactory sets contested.
    open_fraud_flags = factory.LazyAttribute(lambda report: report_queue_state(
        flags=report.flags, resolved_flags=report.resolved_flags, claim_statuses=())["open_fraud_flags"])


class ClaimFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Claim
        skip_postgeneration_save = True

    report = factory.SubFactory(ReportFactory)
    chain = "eip155:31337"
    tx_hash = factory.Sequence(lambda n: "0x" + f"{n:064x}")
    asset = "ETH"
    amount = Decimal("1")
    status = "unchecked"
    # What the claim's own checks gave: the status a test sets, unless it is a cross-report one.
    checked_status = factory.LazyAttribute(
        lambda claim: "verified" if claim.status in ("contested", "duplicate") else claim.status)

    @factory.post_generation
    def report_contested(claim, create, extracted, **kwargs):
        """Mark the report contested, as the verdict would store it (incidents.queue_state)."""
        if create and claim.status == ClaimStatus.CONTESTED:
            Report.objects.filter(pk=claim.report_id).update(contested=True)
            claim.report.contested = True


def login_with_second_factor(client, user) -> str:
    """Sign ``user`` in as after a password and a TOTP code; enrol a TOTP secret first; return it."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    existing = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    secret = existing.data["secret"] if existing else generate_totp_secret()
    if existing is None:
        TOTP.activate(user, secret)
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": time.time()},
                                                 {"method": "mfa", "at": time.time(), "type": "totp"}]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return secret
