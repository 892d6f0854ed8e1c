"""Files in an S3-compatible bucket (a real moto server on loopback): private, encrypted, generated
names, served only through the views that check who asks, and never without their rows."""

import hashlib
import io

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.urls import reverse

from audit.models import AuditAction, AuditEvent
from audit.services import audit_record
from incidents.models import Evidence
from incidents.services import evidence_attach, report_withdraw
from incidents.uploads import evidence_files_undone_on_error
from registry.models import Release
from registry.services import ReleaseError, release_copy, release_publish
from tests.audit.test_chain import tampering
from tests.factories import ClaimFactory, IncidentFactory, ReportFactory, UserFactory
from tests.s3 import bucket_keys

pytestmark = pytest.mark.django_db

CSV = b"Date(UTC),Pair,Side,Price,Executed,Amount,Fee\n2022-11-15 13:45:10,BTCUSDT,BUY,1,1BTC,1USDT,0BNB\n"


def client_of(storage):
    return boto3.client("s3", endpoint_url=storage.endpoint_url, region_name="us-east-1",
                        aws_access_key_id=storage.access_key, aws_secret_access_key=storage.secret_key)


def test_evidence_lands_in_the_bucket_private_encrypted_and_under_a_generated_name(bucket):
    report = ReportFactory()

    evidence = evidence_attach(report=report, kind="trade_export", data=CSV, original_name="../my trades.csv")

    key = f"{bucket.location}/{report.pk}/{hashlib.sha256(CSV).hexdigest()}"
    assert bucket_keys(bucket) == [key]
    head = client_of(bucket).head_object(Bucket=bucket.bucket_name, Key=key)
    assert head["ServerSideEncryption"] == "AES256"
    grants = client_of(bucket).get_object_acl(Bucket=bucket.bucket_name, Key=key)["Grants"]
    assert [g["Grantee"].get("URI") for g in grants if g["Grantee"].get("Type") == "Group"] == []
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]  # the owner only
    assert evidence.original_name == "my trades.csv"


def test_a_download_reads_the_bucket_through_the_view_that_checks_who_asks(bucket, client):
    owner, other = UserFactory(), UserFactory()
    evidence = evidence_attach(report=ReportFactory(reporter=owner), kind="trade_export", data=CSV)
    url = reverse("incidents:evidence-download", args=[evidence.pk])

    client.force_login(other)
    assert client.get(url).status_code == 404
    client.force_login(owner)
    response = client.get(url)

    assert response.status_code == 200 and b"".join(response.streaming_content) == CSV
    assert response["Content-Disposition"].startswith("attachment")
    audited = AuditEvent.objects.filter(action="evidence_download", subject=f"evidence:{evidence.pk}")
    assert audited.count() == 1


def test_a_transaction_that_fails_after_the_upload_takes_the_object_back(bucket):
    report = ReportFactory()

    with pytest.raises(RuntimeError), evidence_files_undone_on_error(), transaction.atomic():
        evidence_attach(report=report, kind="trade_export", data=CSV)
        raise RuntimeError("the import failed further down")

    assert not Evidence.objects.exists()
    assert bucket_keys(bucket) == []


def test_a_withdrawal_deletes_the_objects_once_it_commits(bucket, django_capture_on_commit_callbacks):
    report = ReportFactory()
    evidence_attach(report=report, kind="trade_export", data=CSV)

    with django_capture_on_commit_callbacks(execute=True):
        report_withdraw(report=report)

    assert bucket_keys(bucket) == []


def test_a_release_is_stored_in_the_bucket_served_from_it_and_checks_out(bucket, client, tmp_path,
                                                                       signing_key):
    incident = IncidentFactory(published=True)
    ClaimFactory(report=ReportFactory(incident=incident))

    release = release_publish(incident=incident)

    names = {*release.manifest["files"], "manifest.json", "manifest.sig"}
    assert bucket_keys(bucket.releases) == sorted(f"{bucket.releases.location}/{release.folder}/{n}"
                                                  for n in names)
    response = client.get(f"/incidents/{incident.slug}/releases/1/reports.csv")
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).hexdigest() == release.manifest["files"]["reports.csv"]["sha256"]
    release_copy(release=release, folder=tmp_path / "copy")
    call_command("check_release", str(tmp_path / "copy"), stdout=io.StringIO())  # raises if it fails


def test_a_publication_that_cannot_store_its_files_leaves_neither_files_nor_row(bucket, signing_key):
    incident = IncidentFactory(published=True)
    ClaimFactory(report=ReportFactory(incident=incident))
    # Left by a publisher that crashed between storing and committing.
    bucket.releases.save(f"{incident.slug}/1/manifest.json", ContentFile(b"{}"))

    with pytest.raises(ReleaseError, match="not recorded"):
        release_publish(incident=incident)

    assert not Release.objects.exists()
    assert bucket_keys(bucket.releases) == [f"{bucket.releases.location}/{incident.slug}/1/manifest.json"]


@pytest.mark.usefixtures("signing_key")
def test_check_audit_holds_the_log_to_the_heads_of_releases_in_the_bucket(bucket, settings, tmp_path):
    settings.RELEASES_ROOT = tmp_path / "nothing-here"  # the local folder is not where releases are
    incident = IncidentFactory(published=True)
    ClaimFactory(report=ReportFactory(incident=incident))
    recorded = audit_record(actor=None, action=AuditAction.REPORT_TAG, subject="report:1")  # the head then
    release_publish(incident=incident)
    call_command("check_audit", stdout=io.StringIO())

    with tampering():
        AuditEvent.objects.filter(seq__gte=recorded.seq).delete()  # the tail is cut: the chain stays intact

    with pytest.raises(CommandError) as broken:
        call_command("check_audit", stdout=io.StringIO(), stderr=io.StringIO())
    assert broken.value.returncode == 2
