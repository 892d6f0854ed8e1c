"""Publishing releases, their changelog, and check_release catching every kind of tampering."""

import base64
import json
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from registry import signing
from registry.exports import REPORT_HEADER, file_digest, report_ref
from registry.models import Release, release_storage
from registry.selectors import register_counts
from registry.services import manifest_write, register_export, release_copy, release_publish
from tests.factories import ClaimFactory, ReportFactory
from tests.registry.conftest import read_csv

pytestmark = pytest.mark.django_db

RELEASE_FILES = ["changelog.json", "claims.csv", "manifest.json", "manifest.sig", "methodology.md",
                 "public_key.pem", "register.ods", "register.xlsx", "reports.csv"]


@pytest.fixture
def draft(world, tmp_path) -> Path:
    folder = tmp_path / "draft"
    register_export(incident=world.incident, folder=folder)
    return folder


def check(folder: Path, *options: str) -> tuple[int, str, str]:
    """Run check_release; return its exit code, stdout and stderr."""
    out, err = StringIO(), StringIO()
    try:
        call_command("check_release", str(folder), *options, stdout=out, stderr=err)
    except CommandError as exc:
        return exc.returncode, out.getvalue(), err.getvalue() + str(exc)
    return 0, out.getvalue(), err.getvalue()


def flip(path: Path, position: int) -> None:
    data = bytearray(path.read_bytes())
    data[position] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_fresh_export_checks_ok(draft):
    code, out, err = check(draft)

    assert (code, err) == (0, "")
    assert sorted(p.name for p in draft.iterdir()) == RELEASE_FILES
    assert out.strip().endswith("release OK")


@pytest.mark.parametrize("name", sorted(set(RELEASE_FILES) - {"manifest.json", "manifest.sig"}))
def test_one_flipped_byte_in_a_listed_file_fails_naming_it(draft, name):
    flip(draft / name, (draft / name).stat().st_size // 2)

    code, out, err = check(draft)

    assert code == 2 and "release OK" not in out
    assert f"problem: {name}: sha256" in err and "the file was changed" in err


@pytest.mark.parametrize("position", [0, 40, -2, -1])
def test_one_flipped_byte_in_the_manifest_or_its_signature_fails(draft, position):
    for name in ("manifest.json", "manifest.sig"):
        folder = draft.parent / f"copy-{name}"
        shutil.copytree(draft, folder)
        flip(folder / name, position)

        code, _, err = check(folder)

        assert code == 2
        assert "manifest.sig: not a valid signature of manifest.json by the expected key" in err


def test_a_removed_file_fails_and_an_unlisted_one_only_warns(draft):
    (draft / "claims.csv").unlink()
    (draft / "notes.txt").write_text("added by someone")

    code, _, err = check(draft)

    assert code == 2
    assert "problem: claims.csv: missing (listed in the manifest)" in err
    assert "warning: notes.txt: not listed in the manifest" in err


def test_an_extra_file_alone_is_a_warning_and_the_release_stays_ok(draft):
    (draft / "README.txt").write_text("hello")

    code, out, err = check(draft)

    assert code == 0 and "release OK" in out and "warning: README.txt" in err


def test_a_manifest_re_signed_with_another_key_fails(draft):
    manifest = json.loads((draft / "manifest.json").read_bytes())
    manifest["counts"]["reports"] = 999
    manifest_write(folder=draft, manifest=manifest, key=Ed25519PrivateKey.generate())

    code, _, err = check(draft)

    assert code == 2 and "signed with another key" in err


def test_a_missing_signature_fails(draft):
    (draft / "manifest.sig").unlink()

    assert check(draft)[0] == 2


def test_a_forger_who_replaces_the_folders_key_and_re_signs_is_caught(draft, signing_key):
    forger = Ed25519PrivateKey.generate()
    (draft / "public_key.pem").write_text(signing.public_key_pem(forger.public_key()))
    manifest = json.loads((draft / "manifest.json").read_bytes())
    manifest["files"]["public_key.pem"] = file_digest(draft / "public_key.pem")
    manifest_write(folder=draft, manifest=manifest, key=forger)

    assert check(draft)[0] == 2  # the configured key, never the folder's own
    assert check(draft, "--public-key", signing.public_key_b64(signing_key.public_key()))[0] == 2
    assert check(draft, "--public-key", str(draft / "public_key.pem"))[0] == 0  # only if you trust the forger


def test_the_command_exits_0_or_2_as_a_process(draft, signing_key):
    expected = signing.public_key_b64(signing_key.public_key())
    command = [sys.executable, "manage.py", "check_release", str(draft), "--public-key", expected]

    ok = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)
    flip(draft / "reports.csv", 10)
    bad = subprocess.run(command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=120)

    assert (ok.returncode, ok.stdout.strip().splitlines()[-1]) == (0, "release OK")
    assert bad.returncode == 2 and "reports.csv: sha256" in bad.stderr


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is not installed")
def test_openssl_verifies_the_signature_as_the_readme_says(draft, tmp_path):
    (tmp_path / "manifest.sig.bin").write_bytes(base64.b64decode((draft / "manifest.sig").read_text()))
    command = ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(draft / "public_key.pem"), "-rawin",
               "-in", str(draft / "manifest.json"), "-sigfile", str(tmp_path / "manifest.sig.bin")]

    result = subprocess.run(command, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_export_refuses_a_folder_that_is_not_empty(world, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.csv").write_text("x")

    with pytest.raises(CommandError, match="not empty") as caught:
        call_command("export_register", "--incident", world.incident.slug, "--out", str(tmp_path / "full"))
    assert caught.value.returncode == 2


def test_export_of_an_unknown_incident_exits_2(db, tmp_path):
    with pytest.raises(CommandError, match="no incident") as caught:
        call_command("export_register", "--incident", "nope", "--out", str(tmp_path / "x"))
    assert caught.value.returncode == 2


def test_publishing_numbers_releases_and_keeps_their_files_and_rows(world, tmp_path):
    call_command("export_register", "--incident", world.incident.slug, "--publish", stdout=StringIO())
    call_command("export_register", "--incident", world.incident.slug, "--publish",
                 "--out", str(tmp_path / "copy"), stdout=StringIO())

    releases = list(Release.objects.filter(incident=world.incident).order_by("number"))
    assert [r.number for r in releases] == [1, 2]
    # Nothing half-written left behind.
    assert sorted(release_storage().listdir(world.incident.slug)[0]) == ["1", "2"]
    release_copy(release=releases[1], folder=tmp_path / "2")
    assert releases[1].manifest == json.loads((tmp_path / "2" / "manifest.json").read_bytes())
    assert releases[1].manifest["release"] == 2 and releases[1].report_count == 3
    assert check(tmp_path / "2")[0] == 0 and check(tmp_path / "copy")[0] == 0
    row = releases[1].rows.get(report_ref=report_ref(world.verified.pk))
    assert (row.tier, row.status, row.exchange) == ("T3", "verified", "Binance")
    assert row.data == dict(zip(REPORT_HEADER, read_csv(tmp_path / "2" / "reports.csv")[1], strict=True))


def test_the_changelog_lists_what_changed_since_the_previous_release(world, tmp_path):
    first = release_publish(incident=world.incident)
    added = ReportFactory(incident=world.incident, submitted_at=datetime(2022, 11, 20, tzinfo=UTC))
    ClaimFactory(report=added)
    world.imported.tier, world.imported.status = "T2", "verified"
    world.imported.verified_loss_usd = Decimal("99.99")
    world.imported.save()
    world.canary.status = "withdrawn"
    world.canary.save()

    second = release_publish(incident=world.incident)

    imported = report_ref(world.imported.pk)
    assert first.changelog["from_release"] is None and len(first.changelog["added"]) == 3
    assert second.changelog == {
        "from_release": 1, "to_release": 2,
        "added": [report_ref(added.pk)], "removed": [report_ref(world.canary.pk)],
        "tier_changed": [{"report_ref": imported, "from": "T1", "to": "T2"}],
        "status_changed": [{"report_ref": imported, "from": "needs_review", "to": "verified"}],
        "verified_loss_changed": [{"report_ref": imported, "from": "0.00", "to": "99.99"}],
    }
    folder = tmp_path / "second"
    release_copy(release=second, folder=folder)
    assert json.loads((folder / "changelog.json").read_bytes()) == second.changelog
    assert "changelog.json" in second.manifest["files"]
    assert report_ref(world.canary.pk) not in (folder / "reports.csv").read_text()


def test_a_draft_compares_with_the_last_release_and_creates_none(world, tmp_path):
    release_publish(incident=world.incident)
    world.verified.tier = "T4"
    world.verified.save()

    manifest = register_export(incident=world.incident, folder=tmp_path / "draft")

    changelog = json.loads((tmp_path / "draft" / "changelog.json").read_bytes())
    assert manifest["release"] == "draft" and Release.objects.count() == 1
    assert (changelog["from_release"], changelog["to_release"]) == (1, "draft")
    ref = report_ref(world.verified.pk)
    assert changelog["tier_changed"] == [{"report_ref": ref, "from": "T3", "to": "T4"}]


def test_export_shows_its_progress_table_by_table_in_a_log(world, tmp_path):
    log = StringIO()

    call_command("export_register", "--incident", world.incident.slug, "--out", str(tmp_path / "d"),
                 stdout=log)

    lines = list(dict.fromkeys(line.split(" (")[0] for line in log.getvalue().splitlines()))
    # The withdrawn report and its claim are not exported, so they are not counted either.
    reports, claims = register_counts(incident=world.incident).values()
    assert lines[:2] == [f"reports: {reports}/{reports} rows", f"claims: {claims}/{claims} rows"]
    assert reports == 3 and lines[2].startswith("Wrote a draft export")


def test_export_progress_stays_silent_at_verbosity_0(world, tmp_path):
    log = StringIO()

    call_command("export_register", "--incident", world.incident.slug, "--out", str(tmp_path / "d"),
                 stdout=log, verbosity=0)

    assert "rows" not in log.getvalue()
