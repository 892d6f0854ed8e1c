"""Draft services: answers kept per step, files checked like evidence, one report on submission."""

import hashlib
import io
from decimal import Decimal

import pytest
from PIL import Image

from incidents.drafts import (
    DRAFTS_MAX_OPEN,
    DraftIncomplete,
    DraftLimitReached,
    draft_discard,
    draft_next_step,
    draft_start,
    draft_step_save,
    draft_submit,
    draft_upload_add,
    draft_upload_remove,
)
from incidents.models import Asset, Claim, DraftUpload, Evidence, Report, ReportDraft
from incidents.services import EvidenceFileError
from incidents.uploads import EvidenceTooLarge
from tests.factories import ExchangeFactory, IncidentChainFactory, IncidentFactory, UserFactory

pytestmark = pytest.mark.django_db

TX = "0x" + "ab" * 32
EML = (b"From: Support <support@exchange.example>\r\nTo: person@example.org\r\n"
       b"Subject: Ticket #12345678\r\nDate: Sun, 20 Nov 2022 12:00:00 +0000\r\n\r\n"
       b"We are looking into it.\r\n")


@pytest.fixture
def incident():
    incident = IncidentFactory(title="API key leak")
    IncidentChainFactory(incident=incident, caip2="eip155:1")
    Asset.objects.create(incident=incident, chain="eip155:1", symbol="ETH", decimals=18)
    ExchangeFactory(incident=incident, name="Binance")
    return incident


def png(colour: str = "red") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


def filled_draft(incident, reporter=None):
    """A draft with every required step answered, as the wizard would store it."""
    draft = draft_start(reporter=reporter or UserFactory())
    exchange, asset = incident.exchanges.get(), incident.assets.get()
    answers = {
        "incident": {"incident": incident.pk},
        "account": {"exchange": str(exchange.pk), "notes": "Trades I never made.",
                    "claimed_loss_usd": "1500.00", "loss_date": "2022-11-20", "support_ticket_id": "12345678",
                    "police_report": ""},
        "transfers": {"rows": [{"chain": "eip155:1", "tx_hash": TX, "victim_address": "", "asset": asset.pk,
                                "amount": "1.5"}]},
        "consent": {"consent_publish": "pseudonymous", "reporter_name": "", "consent_law_enforcement": "no",
                    "truthful": True},
    }
    for step, values in answers.items():
        draft = draft_step_save(draft=draft, step=step, values=values)
    return draft


def test_a_draft_keeps_each_step_and_knows_which_comes_next(incident):
    draft = draft_start(reporter=UserFactory())
    assert draft_next_step(draft=draft) == "incident"

    draft = draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})

    draft.refresh_from_db()
    assert draft.incident == incident
    assert draft.data == {"incident": {"incident": incident.pk}}
    assert draft_next_step(draft=draft) == "account"


def test_one_account_keeps_a_bounded_number_of_open_drafts():
    reporter = UserFactory()
    for _ in range(DRAFTS_MAX_OPEN):
        draft_start(reporter=reporter)

    with pytest.raises(DraftLimitReached):
        draft_start(reporter=reporter)
    assert draft_start(reporter=UserFactory())  # others are not affected


def test_choosing_another_incident_forgets_answers_tied_to_the_first(incident):
    draft = filled_draft(incident)
    other = IncidentFactory()

    draft = draft_step_save(draft=draft, step="incident", values={"incident": other.pk})

    assert draft.incident == other
    assert set(draft.data) == {"incident", "consent"}


def test_a_step_saved_in_another_tab_is_not_lost(incident):
    draft = draft_start(reporter=UserFactory())
    stale_copy = ReportDraft.objects.get(pk=draft.pk)
    draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})

    draft_step_save(draft=stale_copy, step="evidence", values={})

    assert set(ReportDraft.objects.get(pk=draft.pk).data) == {"incident", "evidence"}


def test_an_uploaded_file_is_kept_under_its_hash_in_the_draft_folder(incident, draft_storage):
    draft = filled_draft(incident)
    data = png()

    upload = draft_upload_add(draft=draft, kind="screenshot", data=data,
                              original_name="C:\\Users\\me\\shot.png")

    digest = hashlib.sha256(data).hexdigest()
    assert upload.file.name == f"drafts/{draft.pk}/{digest}"
    assert upload.original_name == "shot.png"
    assert upload.detected_type == "image/png"
    assert draft_storage.open(upload.file.name).read() == data


def test_the_same_file_twice_is_refused(incident):
    draft = filled_draft(incident)
    draft_upload_add(draft=draft, kind="screenshot", data=png(), original_name="a.png")

    with pytest.raises(EvidenceFileError):
        draft_upload_add(draft=draft, kind="screenshot", data=png(), original_name="b.png")
    assert draft.uploads.count() == 1


def test_the_file_limit_counts_every_file_of_the_draft(incident, settings):
    settings.EVIDENCE_MAX_FILES = 1
    draft = filled_draft(incident)
    draft_upload_add(draft=draft, kind="screenshot", data=png("red"), original_name="a.png")

    with pytest.raises(EvidenceTooLarge):
        draft_upload_add(draft=draft, kind="screenshot", data=png("blue"), original_name="b.png")
    assert draft.uploads.count() == 1


def test_removing_an_upload_deletes_its_file_after_commit(incident, draft_storage,
                                                          django_capture_on_commit_callbacks):
    draft = filled_draft(incident)
    upload = draft_upload_add(draft=draft, kind="screenshot", data=png(), original_name="a.png")

    with django_capture_on_commit_callbacks(execute=True):
        draft_upload_remove(upload=upload)

    assert not draft.uploads.exists()
    assert not draft_storage.exists(upload.file.name)


def test_submitting_creates_the_report_with_claims_and_evidence_then_drops_the_draft(
        incident, draft_storage, django_capture_on_commit_callbacks):
    reporter = UserFactory(email="victim@example.org")
    draft = filled_draft(incident, reporter)
    shot, mail = png(), EML
    draft_upload_add(draft=draft, kind="screenshot", data=shot, original_name="shot.png")
    draft_upload_add(draft=draft, kind="support_email", data=mail, original_name="ticket.eml")
    draft_names = list(draft.uploads.values_list("file", flat=True))

    with django_capture_on_commit_callbacks(execute=True):
        report = draft_submit(draft=draft)

    assert (report.reporter, report.source, report.contact_email) == (reporter, "web", "victim@example.org")
    assert report.exchange == incident.exchanges.get()
    assert report.claimed_loss_usd == Decimal("1500.00")
    assert report.support_ticket_id == "12345678"
    claim = Claim.objects.get(report=report)
    assert (claim.chain, claim.tx_hash, claim.asset, claim.amount) == ("eip155:1", TX, "ETH", Decimal("1.5"))
    assert sorted(report.evidence.values_list("sha256", flat=True)) == sorted(
        hashlib.sha256(data).hexdigest() for data in (shot, mail))
    for evidence in report.evidence.all():
        assert draft_storage.exists(evidence.file.name)
    assert not ReportDraft.objects.filter(pk=draft.pk).exists()
    assert not DraftUpload.objects.exists()
    assert not any(draft_storage.exists(name) for name in draft_names)


def test_submitting_checks_the_stored_answers_again(incident):
    draft = filled_draft(incident)
    # Written around the forms, as a tampered or outdated draft would be.
    draft.data["account"]["notes"] = "abandon ability able about above absent absorb abstract absurd abuse " \
                                     "access accident"
    draft.save()

    with pytest.raises(DraftIncomplete) as incomplete:
        draft_submit(draft=draft)

    assert incomplete.value.step == "account"
    assert not Report.objects.exists()


def test_a_draft_for_an_incident_no_longer_published_cannot_be_submitted(incident):
    draft = filled_draft(incident)
    incident.published = False
    incident.save()

    with pytest.raises(DraftIncomplete) as incomplete:
        draft_submit(draft=draft)

    assert incomplete.value.step == "incident"


def test_a_draft_missing_a_step_names_the_first_one_missing(incident):
    draft = draft_start(reporter=UserFactory())
    draft = draft_step_save(draft=draft, step="incident", values={"incident": incident.pk})

    with pytest.raises(DraftIncomplete) as incomplete:
        draft_submit(draft=draft)

    assert incomplete.value.step == "account"


def test_a_refused_file_at_submission_leaves_nothing_behind_and_keeps_the_draft(incident, settings,
                                                                                draft_storage):
    draft = filled_draft(incident)
    draft_upload_add(draft=draft, kind="screenshot", data=png("red"), original_name="a.png")
    draft_upload_add(draft=draft, kind="screenshot", data=png("blue"), original_name="b.png")
    settings.EVIDENCE_MAX_FILES = 1  # lowered after the files were added

    with pytest.raises(EvidenceTooLarge):
        draft_submit(draft=draft)

    assert not Report.objects.exists()
    assert not Evidence.objects.exists()
    assert draft.uploads.count() == 2
    kept = {upload.file.name for upload in draft.uploads.all()}
    assert stored_files(draft_storage) == kept  # only the draft's own files, no orphaned evidence


def stored_files(storage, folder: str = "") -> set[str]:
    folders, files = storage.listdir(folder)
    found = {f"{folder}{name}" for name in files}
    for sub in folders:
        found |= stored_files(storage, f"{folder}{sub}/")
    return found


def test_discarding_a_draft_deletes_its_files(incident, draft_storage, django_capture_on_commit_callbacks):
    draft = filled_draft(incident)
    upload = draft_upload_add(draft=draft, kind="screenshot", data=png(), original_name="a.png")

    with django_capture_on_commit_callbacks(execute=True):
        draft_discard(draft=draft)

    assert not ReportDraft.objects.exists()
    assert not draft_storage.exists(upload.file.name)


def test_abandoned_drafts_are_erased_with_their_files_and_recent_ones_kept(
        incident, draft_storage, django_capture_on_commit_callbacks, settings):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.tasks import purge_drafts_task

    old, recent = filled_draft(incident), filled_draft(incident)
    upload = draft_upload_add(draft=old, kind="screenshot", data=png(), original_name="a.png")
    long_ago = timezone.now() - timedelta(days=settings.DRAFT_RETENTION_DAYS + 1)
    ReportDraft.objects.filter(pk=old.pk).update(updated_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        purge_drafts_task()

    assert list(ReportDraft.objects.all()) == [recent]
    assert not draft_storage.exists(upload.file.name)
