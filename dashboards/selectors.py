"""What the dashboard shows: a published release, frozen, or the journalists' live preview."""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from django.core.cache import cache
from django.utils.translation import gettext as _

from accounts.models import Role
from dashboards.charts import release_cite
from dashboards.services import summary_build_now
from dashboards.sums import sql_stats
from incidents.models import Incident
from registry.models import Release
from registry.stats import Filters, stats_build

# A release's narrowed views stay cached this long, not for good: the cache shares its Redis with
# the broker (docker/compose.yml, no eviction), and valid filter combinations are many.
FILTERED_SECONDS = 600

# Everything but the facts: lists and pages never load a release's row-level facts.
LIGHT = ("facts", "changelog")  # large at scale (every report ref of a first release): read where shown


@dataclass
class Picture:
    """The numbers one page or answer is drawn from, and where they come from."""

    incident: Incident
    release: Release | None  # None: before the first release, or the live preview
    stats: dict
    preview: bool = False
    built_at: datetime | None = None
    version: str = ""  # changes whenever the numbers may have: the ETag's base

    def __post_init__(self):
        # The page also shows the incident's own text: an edit to it is a new version too.
        self.version = f"{self.incident.pk}-{self.incident.updated_at.timestamp()}-{self.version}"

    @property
    def citable(self) -> bool:
        return self.release is not None and not self.preview

    @property
    def cite(self) -> str:
        """Say how to cite these numbers: incident, release number and time, manifest sha256."""
        if self.preview:
            return _("Embargoed preview, not for citation: numbers change until the next release.")
        if self.release is None:
            return _("Not yet released: nothing to cite.")
        return release_cite(self.release, self.incident)


def can_preview(user) -> bool:
    """Journalists, moderators and staff may see the live, embargoed numbers."""
    return user.is_authenticated and (user.is_staff or user.role in (Role.JOURNALIST, Role.MODERATOR))


def release_for(*, incident: Incident, number: int | None = None) -> Release | None:
    """Return the incident's release ``number``, or its latest one (None if there is none)."""
    releases = Release.objects.filter(incident=incident).defer(*LIGHT).order_by("-number")
    return releases.filter(number=number).first() if number else releases.first()


def picture_public(*, incident: Incident, number: int | None = None) -> Picture:
    """Return the frozen picture of a release (the latest unless ``number``), or the empty one."""
    release = release_for(incident=incident, number=number)
    if release is None:
        empty = {**stats_build(facts=[], as_of=None, release=None), "preview": False}
        return Picture(incident=incident, release=None, stats=empty, version="unreleased")
    return Picture(incident=incident, release=release, stats={**release.stats, "preview": False},
                   built_at=release.created_at, version=f"r{release.pk}-{release.manifest_sha256[:16]}")


def picture_preview(*, incident: Incident) -> Picture:
    """Return the live picture from the pre-aggregated summary (built here only the first time)."""
    summary = summary_build_now(incident=incident)
    return Picture(incident=incident, release=None, stats=summary.stats, preview=True,
                   built_at=summary.built_at, version=f"live-{summary.built_at.timestamp()}")


def picture_filtered(*, picture: Picture, filters: Filters) -> dict:
    """Return the picture's stats narrowed by ``filters`` (cached; raises TooFewReports)."""
    if not filters.active():
        return picture.stats
    digest = hashlib.sha256(json.dumps(filters.query(), sort_keys=True).encode()).hexdigest()[:24]
    key = f"dashboards:stats:{picture.incident.pk}:{picture.version}:{digest}"
    stats = cache.get(key)
    if stats is None:
        stats = _filtered(picture, filters)
        cache.set(key, stats, timeout=FILTERED_SECONDS if picture.citable else 300)
    return stats


def _filtered(picture: Picture, filters: Filters) -> dict:
    if picture.preview:  # summed in SQL from the live fact rows
        return {**sql_stats(incident_id=picture.incident.pk, as_of=_as_of(picture.stats), release=None,
                            filters=filters), "preview": True}
    return {**stats_build(facts=_facts(picture), as_of=_as_of(picture.stats),
                          release=picture.stats["release"], filters=filters), "preview": False}


def _facts(picture: Picture) -> list:
    if picture.release is None:
        return []
    return Release.objects.filter(pk=picture.release.pk).values_list("facts", flat=True)[0]


def _as_of(stats: dict) -> datetime | None:
    return datetime.fromisoformat(stats["as_of"]) if stats.get("as_of") else None
