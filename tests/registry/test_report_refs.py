"""report_ref is stored per report when it is created, so rotating REPORT_REF_KEY changes no published ref."""

import hashlib
import hmac
import importlib
from datetime import UTC, datetime

import pytest
from django.apps import apps as django_apps
from django.db import IntegrityError, connection, transaction

from incidents import refs
from incidents.models import Report, ReportSource
from incidents.services import report_create
from registry.exports import register_write
from registry.services import release_publish
from tests.factories import ReportFactory
from tests.registry.conftest import read_csv

NEW_KEY = "rotated-report-ref-key"
WHEN = datetime(2023, 1, 2, 3, 4, 5, tzinfo=UTC)


def refs_of(folder) -> dict[str, list[str]]:
    """Return the report_ref column of reports.csv and of claims.csv."""
    return {name: [row[0] for row in read_csv(folder / name)[1:]] for name in ("reports.csv", "claims.csv")}


def write(world, folder):
    folder.mkdir()
    register_write(incident=world.incident, folder=folder, created_at=WHEN, formats=("csv", "xlsx", "ods"))
    return folder


def test_each_report_stores_the_ref_its_key_derives_from_its_id_when_created(world):
    report = Report.objects.get(pk=world.verified.pk)

    assert report.report_ref == refs.report_ref_derive(report.pk, "test-report-ref-key")
    assert report.report_ref_key == refs.report_ref_key_id("test-report-ref-key")
    assert len(report.report_ref) == 16 and "test-report-ref-key" not in report.report_ref_key


def test_rotating_the_key_keeps_every_ref_and_reexports_byte_identical_files(world, settings, tmp_path):
    before = write(world, tmp_path / "before")
    stored_before = dict(Report.objects.values_list("pk", "report_ref"))

    settings.REPORT_REF_KEY = NEW_KEY
    after = write(world, tmp_path / "after")
    late = report_create(incident=world.incident, claims=[], reporter_name="After the rotation")
    with_late = write(world, tmp_path / "with-late")

    assert refs_of(after) == refs_of(before) and refs_of(before)["claims.csv"]
    for name in ("reports.csv", "claims.csv", "register.xlsx", "register.ods"):
        assert (after / name).read_bytes() == (before / name).read_bytes(), name
    assert dict(Report.objects.exclude(pk=late.pk).values_list("pk", "report_ref")) == stored_before
    late.refresh_from_db()
    assert late.report_ref == refs.report_ref_derive(late.pk, NEW_KEY)
    assert late.report_ref_key == refs.report_ref_key_id(NEW_KEY) != world.verified.report_ref_key
    assert refs_of(with_late)["reports.csv"] == [*refs_of(before)["reports.csv"], late.report_ref]


def test_a_release_published_after_a_rotation_keeps_the_refs_of_the_one_before(world, settings):
    first = release_publish(incident=world.incident)
    settings.REPORT_REF_KEY = NEW_KEY
    second = release_publish(incident=world.incident)

    assert second.changelog["added"] == [] and second.changelog["removed"] == []
    assert (set(second.rows.values_list("report_ref", flat=True))
            == set(first.rows.values_list("report_ref", flat=True)))


def test_a_ref_already_taken_is_never_given_again(world, monkeypatch):
    derive = refs.report_ref_derive
    taken = world.verified.report_ref

    def colliding(report_id, key, attempt=0):  # the first try of every new report hits a stored ref
        return taken if attempt == 0 else derive(report_id, key, attempt)

    monkeypatch.setattr(refs, "report_ref_derive", colliding)
    one = ReportFactory(incident=world.incident)
    many = Report.objects.bulk_create([Report(incident=world.incident, source=ReportSource.WEB,
                                              submitted_at=WHEN) for _ in range(3)])

    assert one.report_ref == derive(one.pk, "test-report-ref-key", 1)
    assert [report.report_ref for report in many] == [derive(r.pk, "test-report-ref-key", 1) for r in many]
    all_refs = list(Report.objects.values_list("report_ref", flat=True))
    assert None not in all_refs and len(set(all_refs)) == len(all_refs)


def test_every_creation_path_stores_a_ref(world):
    bulk = Report.objects.bulk_create([Report(incident=world.incident, submitted_at=WHEN)])
    created = Report.objects.create(incident=world.incident, submitted_at=WHEN)

    assert bulk[0].report_ref and created.report_ref
    assert not Report.objects.filter(report_ref__isnull=True).exists()


def test_no_ref_can_be_derived_without_a_key(world, settings):
    settings.REPORT_REF_KEY = None

    with pytest.raises(RuntimeError, match="REPORT_REF_KEY is not set"):
        Report.objects.create(incident=world.incident, submitted_at=WHEN)


def test_the_migration_gives_existing_reports_the_refs_their_releases_already_published(world):
    migration = importlib.import_module("incidents.migrations.0010_importref_report_ref")
    Report.objects.update(report_ref=None, report_ref_key="")  # as before the migration

    migration.backfill(django_apps, None)

    for pk, ref, key_id in Report.objects.values_list("pk", "report_ref", "report_ref_key"):
        published = hmac.new(b"test-report-ref-key", f"report:{pk}".encode(), hashlib.sha256).hexdigest()[:16]
        assert (ref, key_id) == (published, refs.report_ref_key_id("test-report-ref-key"))


def test_the_database_refuses_a_second_report_with_a_taken_ref(world):
    taken = Report.objects.get(pk=world.verified.pk).report_ref
    other = Report.objects.exclude(pk=world.verified.pk).first()

    with pytest.raises(IntegrityError), transaction.atomic():
        Report.objects.filter(pk=other.pk).update(report_ref=taken)

    assert Report.objects.filter(report_ref=taken).count() == 1


def test_refs_are_looked_up_whole_through_one_index(world):
    """One unique index serves report_ref: no pattern-matching copy to rewrite with each report."""
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, Report._meta.db_table)
    on_ref = [name for name, index in indexes.items() if index["columns"] == ["report_ref"]]

    assert on_ref == ["report_ref_unique"]
    assert indexes["report_ref_unique"]["unique"]
