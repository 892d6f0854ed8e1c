"""A task message delivered too many times is abandoned and shown as failed."""

import pytest

from verification.bounded import BoundedTask
from verification.models import TaskDelivery
from verification.tasks import verify_report_task

pytestmark = pytest.mark.django_db


def test_a_message_that_keeps_coming_back_is_given_up_after_the_limit(settings, monkeypatch):
    settings.TASK_MAX_DELIVERIES = 3
    runs = []
    monkeypatch.setattr("verification.services.reports_verify", lambda **kwargs: runs.append(kwargs))
    # A worker that dies mid-task never reaches after_return: simulate by skipping it.
    monkeypatch.setattr(BoundedTask, "after_return", lambda *args, **kwargs: None)

    for _ in range(5):
        verify_report_task.apply(args=[7], task_id="crash-looping-message")

    assert len(runs) == 3
    delivery = TaskDelivery.objects.get(task_id="crash-looping-message")
    assert (delivery.deliveries, delivery.gave_up, delivery.args) == (5, True, [7])


def test_a_task_that_ends_leaves_no_delivery_row(monkeypatch):
    monkeypatch.setattr("verification.services.reports_verify", lambda **kwargs: None)

    verify_report_task.apply(args=[8], task_id="fine-message")

    assert not TaskDelivery.objects.exists()
