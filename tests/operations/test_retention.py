"""An incident can be closed (audited); its evidence files are erased a configured time later."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEvent
from incidents.drafts import draft_upload_add
from incidents.models import Evidence, Incident, ReportDraft
from incidents.retention import IncidentClosed, evidence_erase_closed, incident_close
from incidents.services import evidence_attach
from incidents.tasks import erase_closed_evidence_task
from operations.files import files_sweep
from tests.conftest import stored_names
from tests.factories import IncidentFactory, ReportFactory, UserFactory
from verification.evidence import evidence_verify
from verification.models import CheckResult

pytestmark = pytest.mark.django_db

CSV = b"Date(UTC),Pair,Side\n2022-11-20,PUMPUSDT,BUY\n"


def test_closing_is_audited_and_happens_once():
    incident = IncidentFactory()

    incident_close(incident=incident)

    assert Incident.objects.get(pk=incident.pk).closed_at is not None
    audited = AuditEvent.objects.filter(action="incident_close", subject=f"incident:{incident.slug}")
    assert audited.count() == 1
    with pytest.raises(IncidentClosed):
        incident_close(incident=incident)


def test_the_command_closes_and_refuses_an_unknown_incident():
    incident = IncidentFactory()

    call_command("close_incident", incident.slug, stdout=StringIO())

    assert Incident.objects.get(pk=incident.pk).closed_at is not None
    with pytest.raises(CommandError, match="no incident"):
        call_command("close_incident", "nope")


def test_evidence_files_go_only_after_the_retention_time(private_evidence_storage, settings,
                                                         django_capture_on_commit_callbacks):
    settings.EVIDENCE_RETENTION_DAYS = 30
    closed, open_ = IncidentFactory(), IncidentFactory()
    gone = evidence_attach(report=ReportFactory(incident=closed), kind="trade_export", data=CSV)
    kept = evidence_attach(report=ReportFactory(incident=open_), kind="trade_export", data=CSV)
    incident_close(incident=closed)

    with django_capture_on_commit_callbacks(execute=True):
        erase_closed_evidence_task()
    assert len(stored_names(private_evidence_storage)) == 2  # closed today: not yet

    Incident.objects.filter(pk=closed.pk).update(closed_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        erase_closed_evidence_task()

    assert stored_names(private_evidence_storage) == [kept.file.name]
    row = Evidence.objects.get(pk=gone.pk)  # the record of what was checked stays
    assert (row.file.name, row.sha256, row.size) == ("", gone.sha256, gone.size)
    erased = AuditEvent.objects.get(action="evidence_erase")
    assert (erased.subject, erased.data) == (f"incident:{closed.slug}", {"files": 1})
    sweep = files_sweep(grace=timedelta(0))
    assert (sweep.files_without_row, sweep.rows_without_file) == ([], [])


def test_an_erased_file_is_neither_served_nor_checked_again(client, django_capture_on_commit_callbacks):
    owner = UserFactory()
    report = ReportFactory(reporter=owner)
    evidence = evidence_attach(report=report, kind="trade_export", data=CSV)
    evidence_verify(evidence_id=evidence.pk)
    before = list(CheckResult.objects.filter(evidence=evidence).values_list("check_name", "outcome"))
    incident_close(incident=report.incident)
    with django_capture_on_commit_callbacks(execute=True):
        evidence_erase_closed(closed_before=timezone.now() + timedelta(seconds=1))

    evidence_verify(evidence_id=evidence.pk)  # a re-check after erasure keeps what was found

    assert list(CheckResult.objects.filter(evidence=evidence).values_list("check_name", "outcome")) == before
    client.force_login(owner)
    assert client.get(reverse("incidents:evidence-download", args=[evidence.pk])).status_code == 404


def test_drafts_of_a_closed_incident_go_with_their_files(private_evidence_storage,
                                                         django_capture_on_commit_callbacks):
    incident = IncidentFactory()
    draft = ReportDraft.objects.create(reporter=UserFactory(), incident=incident)
    draft_upload_add(draft=draft, kind="trade_export", data=CSV, original_name="t.csv")
    incident_close(incident=incident)

    with django_capture_on_commit_callbacks(execute=True):
        evidence_erase_closed(closed_before=timezone.now() + timedelta(seconds=1))

    assert not ReportDraft.objects.exists() and stored_names(private_evidence_storage) == []
