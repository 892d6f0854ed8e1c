"""The duties incidents hands up (incidents/hooks.py) land on verification's own functions."""

import pytest

from incidents import hooks
from verification import selectors, services, tasks


def test_the_verification_app_takes_on_every_duty_when_it_loads():
    assert set(hooks._handlers) == set(hooks.DUTIES)


@pytest.mark.parametrize(("duty", "module", "target", "arguments"), [
    ("report_stored", tasks, "verification_enqueue", {"report_id": 7}),
    ("reports_imported", tasks, "reports_enqueue", {"report_ids": [7, 8], "leased": True}),
    ("evidence_stored", tasks, "evidence_verification_enqueue", {"evidence_id": 9}),
    ("reports_rivals_lost", services, "reports_recompute", {"report_ids": [3]}),
])
def test_each_duty_calls_verifications_function_with_the_same_arguments(
    monkeypatch, duty, module, target, arguments
):
    calls = []
    monkeypatch.setattr(module, target, lambda **kwargs: calls.append(kwargs))

    getattr(hooks, duty)(**arguments)

    assert calls == [arguments]


def test_the_reporters_pages_read_check_results_through_verifications_selector(monkeypatch):
    marker = object()
    monkeypatch.setattr(selectors, "check_results", lambda: marker)

    assert hooks.check_results() is marker


@pytest.mark.django_db
def test_the_check_results_handed_down_are_verifications_stored_rows():
    assert hooks.check_results().model._meta.label == "verification.CheckResult"


def test_a_duty_nobody_took_on_raises_instead_of_dropping_the_report(monkeypatch):
    monkeypatch.setattr(hooks, "_handlers", {})

    with pytest.raises(hooks.HookMissing, match="report_stored"):
        hooks.report_stored(report_id=1)


def test_registering_an_unknown_duty_is_refused():
    with pytest.raises(ValueError, match="report_saved"):
        hooks.register(report_saved=lambda **kwargs: None)
