"""Admins read the audit log in the admin and can change nothing there."""

import pytest
from django.urls import reverse

from audit.models import AuditAction
from audit.services import audit_record
from tests.factories import UserFactory, login_with_second_factor

pytestmark = pytest.mark.django_db


def test_an_admin_reads_events_but_cannot_add_change_or_delete_them(client):
    event = audit_record(actor=None, action=AuditAction.TOKEN_ISSUE, subject="user:1",
                         data={"role": "journalist"})
    login_with_second_factor(client, UserFactory(is_staff=True, is_superuser=True))

    listing = client.get(reverse("admin:audit_auditevent_changelist"))
    detail = client.get(reverse("admin:audit_auditevent_change", args=[event.pk]))

    assert listing.status_code == 200 and "user:1" in listing.content.decode()
    assert detail.status_code == 200 and event.hash in detail.content.decode()
    assert client.get(reverse("admin:audit_auditevent_add")).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_change", args=[event.pk]),
                       {"subject": "user:2"}).status_code == 403
    assert client.post(reverse("admin:audit_auditevent_delete", args=[event.pk]),
                       {"post": "yes"}).status_code == 403
    event.refresh_from_db()
    assert event.subject == "user:1"
