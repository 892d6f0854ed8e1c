"""The files sweep reports files without rows and rows without files, in a folder or a bucket."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command

from incidents.services import evidence_attach
from operations.files import files_sweep
from tests.factories import ReportFactory

pytestmark = pytest.mark.django_db

CSV = b"Date(UTC),Pair,Side\n2022-11-20,PUMPUSDT,BUY\n"


@pytest.fixture(params=["folder", "bucket"])
def files(request, private_evidence_storage):
    """Evidence storage as the test runs it: the local folder, then a bucket on a moto server."""
    return request.getfixturevalue("bucket") if request.param == "bucket" else private_evidence_storage


def test_a_clean_store_has_nothing_to_report(files):
    evidence_attach(report=ReportFactory(), kind="trade_export", data=CSV)

    sweep = files_sweep(grace=timedelta(0))

    assert (sweep.files_without_row, sweep.rows_without_file) == ([], [])
    assert (sweep.files_checked, sweep.rows_checked) == (1, 1)


def test_it_reports_a_file_without_its_row_and_a_row_without_its_file(files):
    kept = evidence_attach(report=ReportFactory(), kind="trade_export", data=CSV)
    lost = evidence_attach(report=ReportFactory(), kind="trade_export", data=CSV + b"x")
    files.delete(lost.file.name)  # gone behind the row's back
    files.save("999999/" + "ab" * 32, ContentFile(b"left by a killed process"))

    sweep = files_sweep(grace=timedelta(0))

    assert sweep.files_without_row == ["evidence:999999/" + "ab" * 32]
    assert sweep.rows_without_file == [f"evidence:{lost.pk} {lost.file.name}"]
    assert kept.file.name not in str(sweep.files_without_row + sweep.rows_without_file)


def test_a_file_younger_than_the_grace_period_is_still_being_written(files):
    files.save("999999/" + "cd" * 32, ContentFile(b"row not committed yet"))

    assert files_sweep(grace=timedelta(hours=1)).files_without_row == []


def test_check_files_lists_what_does_not_match_and_fails(files):
    files.save("999999/" + "ef" * 32, ContentFile(b"orphan"))
    out = StringIO()

    with pytest.raises(CommandError, match="1 files without a row") as caught:
        call_command("check_files", "--grace", "0", stdout=out)

    assert caught.value.returncode == 1
    assert "file without row: evidence:999999/" in out.getvalue()
