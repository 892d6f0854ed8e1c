"""Incident and report services: every write to these models goes through here."""

from dataclasses import asdict
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from incidents.importers.incident_file import IncidentFileError, IncidentSpec
from incidents.models import Asset as AssetModel
from incidents.models import (
    AttackerAddress,
    Claim,
    ClaimKind,
    DkimKey,
    Exchange,
    Incident,
    IncidentChain,
    Report,
    ReportSource,
    SafelistedAddress,
)
from verification.tasks import verification_enqueue


@transaction.atomic
def incident_load(*, spec: IncidentSpec) -> tuple[Incident, bool]:
    """Create or update (by slug) an incident and replace its lists with those of ``spec``."""
    fields = {key: value for key, value in asdict(spec).items()
              if key in {"title", "description", "window_start", "window_end", "tolerance"}}
    incident, created = Incident.objects.select_for_update().update_or_create(
        slug=spec.slug, defaults=fields
    )
    _replace(incident, IncidentChain, spec.chains)
    _replace(incident, AttackerAddress, spec.attacker_addresses)
    _replace(incident, SafelistedAddress, spec.safelisted_addresses)
    _replace(incident, AssetModel, spec.assets)
    _replace(incident, DkimKey, spec.dkim_keys)
    _sync_exchanges(incident, spec.exchanges)
    return incident, created


def _replace(incident: Incident, model, rows: list[dict]) -> None:
    model.objects.filter(incident=incident).delete()
    model.objects.bulk_create(model(incident=incident, **row) for row in rows)


def _sync_exchanges(incident: Incident, rows: list[dict]) -> None:
    """Upsert exchanges by name: reports point at them, so they cannot be recreated."""
    keep = []
    for row in rows:
        exchange, _ = Exchange.objects.update_or_create(
            incident=incident, name=row["name"], defaults=row
        )
        keep.append(exchange.pk)
    stale = Exchange.objects.filter(incident=incident).exclude(pk__in=keep)
    cited = stale.filter(Q(reports__isnull=False) | Q(claims__isnull=False)).values_list(
        "name", flat=True
    ).distinct()
    if cited:
        raise IncidentFileError(
            "exchanges", f"{', '.join(cited)} is cited by reports or claims and cannot be removed"
        )
    stale.delete()


@transaction.atomic
def report_create(
    *,
    incident: Incident,
    claims: list[dict],
    source: str = ReportSource.WEB,
    reporter=None,
    submitted_at=None,
    **fields,
) -> Report:
    """Create a submitted report and its transfer claims in one transaction."""
    report = Report.objects.create(
        incident=incident, reporter=reporter, source=source,
        submitted_at=submitted_at or timezone.now(), **fields,
    )
    Claim.objects.bulk_create(
        Claim(report=report, kind=claim.pop("kind", ClaimKind.TRANSFER), **claim) for claim in claims
    )
    transaction.on_commit(partial(verification_enqueue, report_id=report.pk))
    return report

