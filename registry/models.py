"""Releases: published, immutable versions of an incident's register."""

from django.core.files.storage import storages
from django.db import models
from django.db.models import Q

from incidents.models import Incident


def release_storage():
    """Return the storage of published release files (settings.STORAGES["releases"])."""
    return storages["releases"]


class Release(models.Model):
    """Release N of an incident's register: signed files, a manifest and a changelog against N-1."""

    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="releases")
    number = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)
    folder = models.CharField(max_length=500)  # <slug>/<number> in release_storage()
    manifest = models.JSONField()
    manifest_sha256 = models.CharField(max_length=64)
    signature_b64 = models.TextField()
    public_key_b64 = models.TextField()
    changelog = models.JSONField(default=dict)
    report_count = models.PositiveIntegerField()
    claim_count = models.PositiveIntegerField()
    # Written once at publication (registry.stats): the public dashboard's numbers and what they
    # were summed from, so that filtered views never read live rows.
    stats = models.JSONField(default=dict)
    facts = models.JSONField(default=list)

    class Meta:
        ordering = ["incident_id", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "number"], name="release_number_unique"),
            models.CheckConstraint(condition=Q(number__gte=1), name="release_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.incident.slug} release {self.number}"


class ReleaseRow(models.Model):
    """One register row of a release (reports.csv), kept to serve the JSON API and changelogs."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="rows")
    report_ref = models.CharField(max_length=32)
    exchange = models.CharField(max_length=100, blank=True)
    tier = models.CharField(max_length=2)
    status = models.CharField(max_length=20)
    data = models.JSONField()  # the row exactly as in reports.csv, column -> value

    class Meta:
        ordering = ["release_id", "id"]
        indexes = [models.Index(fields=["release", "tier", "status"], name="release_row_filter_idx")]
        constraints = [
            models.UniqueConstraint(fields=["release", "report_ref"], name="release_row_ref_unique"),
        ]

    def __str__(self) -> str:
        return self.report_ref
