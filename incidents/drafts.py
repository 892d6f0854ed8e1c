"""Report drafts: answers kept step by step between visits, turned into one report on submission."""


from functools import partial

from django.db import transaction

from incidents.forms import STEP_NAMES, step_form_stored
from incidents.models import DraftUpload, Incident, Report, ReportDraft, ReportSource
from incidents.services import (
    draft_files_delete,
    evidence_attach,
    report_create,
    upload_store,
)
from incidents.uploads import evidence_files_undone_on_error

# Bounds what one account can park in storage through drafts it never finishes.
DRAFTS_MAX_OPEN = 10
# Steps whose answers must be there, and valid, before a draft can become a report.
REQUIRED_STEPS = ("incident", "account", "transfers", "consent")
# Answers that name an incident's exchanges, chains or assets: choosing another incident drops them.
INCIDENT_STEPS = ("account", "transfers")


class DraftIncomplete(Exception):
    """A draft that cannot be submitted yet; ``step`` is the first step still needing answers."""

    def __init__(self, step: str):
        super().__init__(step)
        self.step = step


class DraftLimitReached(Exception):
    """The reporter already has as many open drafts as one account may keep."""


def draft_start(*, reporter) -> ReportDraft:
    """Open an empty draft for the reporter, unless they already keep the most one may."""
    if ReportDraft.objects.filter(reporter=reporter).count() >= DRAFTS_MAX_OPEN:
        raise DraftLimitReached
    return ReportDraft.objects.create(reporter=reporter)


def draft_next_step(*, draft: ReportDraft) -> str:
    """Return the first step the draft has no answers for yet, or the review when all are there."""
    return next((step for step in STEP_NAMES[:-1] if step not in draft.data), STEP_NAMES[-1])


@transaction.atomic
def draft_step_save(*, draft: ReportDraft, step: str, values: dict) -> ReportDraft:
    """Store one step's checked answers in the draft."""
    # Locked and read again: two open tabs each saving a step must not erase each other's answers.
    locked = ReportDraft.objects.select_for_update().get(pk=draft.pk)
    data = dict(locked.data)
    if step == "incident" and values["incident"] != locked.incident_id:
        data = {key: value for key, value in data.items() if key not in INCIDENT_STEPS}
        locked.incident = Incident.objects.get(pk=values["incident"])
    data[step] = values
    locked.data = data
    locked.save(update_fields=["data", "incident", "updated_at"])
    return locked


def draft_upload_add(*, draft: ReportDraft, kind: str, data: bytes, original_name: str) -> DraftUpload:
    """Check a file like evidence, counting the draft's other files, and keep it with the draft."""
    return upload_store(owner=draft, files=draft.uploads, row=partial(DraftUpload, draft=draft), kind=kind,
                        data=data, original_name=original_name)


@transaction.atomic
def draft_upload_remove(*, upload: DraftUpload) -> None:
    """Remove a file from its draft, and from storage once that is committed."""
    name = upload.file.name
    upload.delete()
    draft_files_delete(names=[name])


@transaction.atomic
def draft_discard(*, draft: ReportDraft) -> None:
    """Delete a draft with its files."""
    names = list(draft.uploads.values_list("file", flat=True))
    draft.delete()
    draft_files_delete(names=names)


def draft_review(*, draft: ReportDraft) -> dict:
    """Check every stored step again; return each one's cleaned answers, None where missing or invalid."""
    return {step: _step_answers(draft, step) for step in REQUIRED_STEPS}


def _step_answers(draft: ReportDraft, step: str):
    stored = draft.data.get(step)
    if stored is None or (step != "incident" and draft.incident is None):
        return None
    form = step_form_stored(step=step, incident=draft.incident, stored=stored)
    return form.answers() if form.is_valid() else None


def draft_submit(*, draft: ReportDraft) -> Report:
    """Check the draft again and turn it into a report with its claims and evidence, in one go."""
    with evidence_files_undone_on_error() as written, transaction.atomic():
        return _draft_submit(draft, written)


def _draft_submit(draft: ReportDraft, written: list[str]) -> Report:
    # Locked: a double-clicked Submit waits here, then finds the draft gone and files nothing twice.
    locked = ReportDraft.objects.select_for_update().select_related("reporter").get(pk=draft.pk)
    answers = draft_review(draft=locked)
    missing = next((step for step in REQUIRED_STEPS if answers[step] is None), None)
    if missing:
        raise DraftIncomplete(missing)
    report = report_create(
        incident=answers["incident"]["incident"], claims=[_claim(row) for row in answers["transfers"]],
        source=ReportSource.WEB, reporter=locked.reporter, contact_email=locked.reporter.email,
        **_report_fields(answers["account"], answers["consent"]),
    )
    uploads = list(locked.uploads.all())
    for upload in uploads:
        with upload.file.open("rb") as file:
            evidence = evidence_attach(report=report, kind=upload.kind, data=file.read(),
                                       original_name=upload.original_name)
        written.append(evidence.file.name)
    locked.delete()
    draft_files_delete(names=[upload.file.name for upload in uploads])
    return report


def _report_fields(account: dict, consent: dict) -> dict:
    return {
        "exchange": account["exchange"], "notes": account["notes"],
        "claimed_loss_usd": account["claimed_loss_usd"], "loss_date": account["loss_date"],
        "support_ticket_id": account["support_ticket_id"], "police_report": account["police_report"],
        "exchange_email": account["exchange_email"],
        # The consent form empties the name unless the reporter chose to publish by name.
        "consent_publish": consent["consent_publish"], "reporter_name": consent["reporter_name"],
        "consent_law_enforcement": consent["consent_law_enforcement"] == "yes",
    }


def _claim(row: dict) -> dict:
    asset = row["asset"]
    return {"chain": row["chain"], "tx_hash": row["tx_hash"], "from_address": row["victim_address"],
            "asset": asset.symbol if asset else "", "amount": row["amount"]}


def drafts_purge(*, older_than) -> int:
    """Delete drafts untouched since ``older_than`` with their files; return how many went."""
    # Ids first: deleting rows while a cursor still walks the same query can skip some.
    ids = list(ReportDraft.objects.filter(updated_at__lt=older_than).values_list("pk", flat=True))
    for draft_id in ids:
        draft = ReportDraft.objects.filter(pk=draft_id).first()
        if draft is not None:  # its owner may have submitted or discarded it meanwhile
            draft_discard(draft=draft)
    return len(ids)
