"""People and reports for the moderation tests."""

from decimal import Decimal

import pytest

from accounts.models import Role
from incidents.models import ClaimStatus, ReportStatus, Tier
from moderation.selectors import report_version
from moderation.services import report_claim
from tests.factories import ClaimFactory, ReportFactory, UserFactory


@pytest.fixture
def moderator():
    return UserFactory(role=Role.MODERATOR, first_name="Mona", last_name="Mod")


@pytest.fixture
def second_moderator():
    return UserFactory(role=Role.MODERATOR, first_name="Sam", last_name="Second")


def reviewable(*, loss: str = "1500.00", flags=(), **fields):
    """A report whose checks are done: one verified transfer worth ``loss`` USD."""
    fields = {"status": ReportStatus.NEEDS_REVIEW, "tier": Tier.T2, "contact_email": "victim@example.org",
              **fields}
    report = ReportFactory(verified_loss_usd=Decimal(loss), flags=list(flags), **fields)
    ClaimFactory(report=report, status=ClaimStatus.VERIFIED, checked_status=ClaimStatus.VERIFIED,
                 usd_value=Decimal(loss))
    return report


@pytest.fixture
def report():
    return reviewable()


@pytest.fixture
def large_report():
    return reviewable(loss="25000.00")


def claimed(report, moderator) -> str:
    """Claim the report for ``moderator`` and return the version they read."""
    report_claim(report_id=report.pk, moderator=moderator)
    return report_version(report_id=report.pk)
