"""The admin stays for setup: reports, claims, evidence and check results are read-only there."""

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEvent
from tests.factories import ClaimFactory, UserFactory, login_with_second_factor
from tests.moderation.conftest import reviewable
from verification.models import CheckResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    login_with_second_factor(client, UserFactory(is_staff=True, is_superuser=True))
    return client


def test_an_admin_reads_a_report_but_cannot_change_or_delete_it(admin_client):
    report = reviewable()
    ClaimFactory(report=report)
    url = reverse("admin:incidents_report_change", args=[report.pk])

    page = admin_client.get(url)
    posted = admin_client.post(url, {"status": "verified"})
    deleted = admin_client.post(reverse("admin:incidents_report_delete", args=[report.pk]), {"post": "yes"})

    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert posted.status_code == 403 and deleted.status_code == 403
    report.refresh_from_db()
    assert report.status == "needs_review"


def test_the_report_page_of_the_admin_lists_its_checks_with_what_came_back(admin_client):
    report = reviewable()
    claim = ClaimFactory(report=report)
    now = timezone.now()
    CheckResult.objects.create(report=report, claim=claim, check_name="tx_exists", outcome="pass",
                               raw={"asked": "eth_getTransactionByHash"}, started_at=now, finished_at=now)

    page = admin_client.get(reverse("admin:incidents_report_change", args=[report.pk])).content.decode()

    # The inline verification/admin.py adds, after the files and before the messages.
    assert "tx_exists" in page and "eth_getTransactionByHash" in page
    groups = [page.index(f'id="{name}-group"') for name in ("evidence", "check_results", "messages")]
    assert groups == sorted(groups)


@pytest.mark.parametrize("model", ["claim", "evidence", "checkresult"])
def test_nothing_checks_wrote_can_be_added_in_the_admin(admin_client, model):
    app = "verification" if model == "checkresult" else "incidents"
    try:
        url = reverse(f"admin:{app}_{model}_add")
    except Exception:
        return
    assert admin_client.get(url).status_code == 403


def test_an_admin_makes_accounts_moderators_audited_and_never_a_superuser(admin_client):
    person = UserFactory(role=Role.REPORTER)
    before = AuditEvent.objects.count()

    admin_client.post(reverse("admin:accounts_user_changelist"),
                      {"action": "make_moderator", "_selected_action": [person.pk]})

    person.refresh_from_db()
    assert person.role == Role.MODERATOR and not person.is_superuser and not person.is_staff
    event = AuditEvent.objects.order_by("-seq").first()
    assert AuditEvent.objects.count() == before + 1 and event.action == "role_grant"


def test_an_admin_account_cannot_be_made_a_moderator(admin_client):
    other_admin = UserFactory(is_staff=True)

    admin_client.post(reverse("admin:accounts_user_changelist"),
                      {"action": "make_moderator", "_selected_action": [other_admin.pk]})

    other_admin.refresh_from_db()
    assert other_admin.role == Role.REPORTER
