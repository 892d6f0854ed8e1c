"""Exports, signed releases and their checks (docs/methodology.md, "Releases")."""

import csv
import hashlib
import json
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from itertools import islice
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.files import File
from django.db import transaction

from audit.models import AuditAction
from audit.services import audit_head, audit_record
from incidents.models import Incident
from registry import signing
from registry.exports import CSV_FILES, Progressed, canonical_json, file_digest, register_write
from registry.methodology import METHODOLOGY_VERSION, methodology_markdown
from registry.models import Release, ReleaseRow, release_storage
from registry.selectors import CHUNK, release_last, release_last_number, release_summary
from registry.signals import release_published
from registry.stats import facts_from_register, found_assets, register_extras, stats_build

MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
CHANGELOG, METHODOLOGY, PUBLIC_KEY = "changelog.json", "methodology.md", "public_key.pem"
DRAFT = "draft"  # the release "number" of an export that was not published


class ReleaseError(Exception):
    """An export or a publication that cannot go ahead, with a message for the operator."""


@dataclass
class ReleaseCheck:
    """What check_release found: problems fail the check, warnings do not."""

    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def register_export(*, incident: Incident, folder: Path, progress: Progressed | None = None) -> dict:
    """Write a signed draft export of the register into a new or empty folder; return its manifest."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise ReleaseError(f"{folder} is not empty; export into a new folder")
    manifest = _build(incident=incident, folder=folder, number=DRAFT,
                      previous=release_last(incident=incident), progress=progress)
    audit_record(actor=None, action=AuditAction.EXPORT_DRAFT, subject=f"release:{incident.slug}/{DRAFT}",
                 data={"rows": manifest["counts"]["reports"], "claims": manifest["counts"]["claims"],
                       "manifest_sha256": hashlib.sha256((folder / MANIFEST).read_bytes()).hexdigest()})
    return manifest


def release_publish(*, incident: Incident, progress: Progressed | None = None) -> Release:
    """Publish the next release: files in release storage under <slug>/<n>/, the Release row and its rows."""
    previous = release_last(incident=incident)
    number = previous.number + 1 if previous else 1
    # Built aside in a private temporary folder and stored only inside the recording transaction.
    with tempfile.TemporaryDirectory(prefix=f"lossproof-release-{number}-") as staging:
        manifest = _build(incident=incident, folder=Path(staging), number=number, previous=previous,
                          progress=progress)
        facts = list(register_facts(incident=incident, folder=Path(staging)).values())
        release = _record(incident=incident, staging=Path(staging), manifest=manifest, facts=facts)
    release_published.send(sender=Release, release=release)
    return release


def _build(*, incident: Incident, folder: Path, number: int | str, previous: Release | None,
           progress: Progressed | None = None) -> dict:
    """Write every file of a release into ``folder``, then its manifest and signature."""
    key = signing.signing_key()
    created_at = datetime.now(UTC).replace(microsecond=0)
    counts = register_write(incident=incident, folder=folder, created_at=created_at, progress=progress)
    changelog = changelog_build(previous=release_summary(release=previous) if previous else {},
                                current=_summary(folder / CSV_FILES["reports"]),
                                from_release=previous.number if previous else None, to_release=number)
    (folder / CHANGELOG).write_bytes(canonical_json(changelog))
    (folder / METHODOLOGY).write_text(methodology_markdown(), encoding="utf-8")
    (folder / PUBLIC_KEY).write_text(signing.public_key_pem(key.public_key()), encoding="utf-8")
    manifest = manifest_build(incident=incident, folder=folder, number=number, created_at=created_at,
                              counts=counts, key=key)
    manifest_write(folder=folder, manifest=manifest, key=key)
    return manifest


def manifest_build(*, incident: Incident, folder: Path, number: int | str, created_at: datetime,
                   counts: dict[str, int], key: Ed25519PrivateKey) -> dict:
    """Describe the folder's files (sha256 and size) and where they come from."""
    files = {path.name: file_digest(path) for path in sorted(folder.iterdir())
             if path.name not in (MANIFEST, SIGNATURE)}
    return {
        "incident": {"slug": incident.slug, "title": incident.title},
        "release": number,
        "created_at": created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "software": {"name": "lossproof", "version": software_version()},
        "methodology_version": METHODOLOGY_VERSION,
        "counts": counts,
        "files": files,
        "signing_key": signing.public_key_b64(key.public_key()),
        # The audit log's last event when this was written: check_audit holds the log to it later.
        "audit_head": _audit_head(),
    }


def _audit_head() -> dict | None:
    head = audit_head()
    return {"seq": head.seq, "hash": head.hash} if head else None


def manifest_write(*, folder: Path, manifest: dict, key: Ed25519PrivateKey) -> None:
    """Write manifest.json canonically and manifest.sig, the signature over its exact bytes."""
    data = canonical_json(manifest)
    (folder / MANIFEST).write_bytes(data)
    (folder / SIGNATURE).write_text(signing.sign(data, key) + "\n", encoding="ascii")


def software_version() -> str:
    """Return the installed lossproof version, as the manifest records it."""
    try:
        return version("lossproof")
    except PackageNotFoundError:
        return "unknown"


def _summary(reports_csv: Path) -> dict[str, tuple[str, str, str]]:
    """Return report_ref -> (tier, status, verified_loss_usd) read back from a reports.csv."""
    with open(reports_csv, newline="", encoding="utf-8") as handle:
        return {row["report_ref"]: (row["tier"], row["status"], row["verified_loss_usd"])
                for row in csv.DictReader(handle)}


def changelog_build(*, previous: dict, current: dict, from_release: int | None,
                    to_release: int | str) -> dict:
    """Compare two releases' rows by report_ref: added, removed, and what changed in the others."""
    kept = sorted(previous.keys() & current.keys())

    def changed(position: int) -> list[dict]:
        return [{"report_ref": ref, "from": previous[ref][position], "to": current[ref][position]}
                for ref in kept if previous[ref][position] != current[ref][position]]

    return {"from_release": from_release, "to_release": to_release,
            "added": sorted(current.keys() - previous.keys()),
            "removed": sorted(previous.keys() - current.keys()),
            "tier_changed": changed(0), "status_changed": changed(1), "verified_loss_changed": changed(2)}


def register_facts(*, incident: Incident, folder: Path,
                   report_ids: list[int] | None = None) -> dict[str, list]:
    """Read the statistics' facts (report_ref -> fact) back from a register folder just written."""
    cited, bound = register_extras(incident=incident, report_ids=report_ids)
    return facts_from_register(folder=folder, ticket_cited=cited, bound=bound,
                               found_assets=found_assets(incident=incident, report_ids=report_ids))


def _record(*, incident: Incident, staging: Path, manifest: dict, facts: list[list]) -> Release:
    """Store the Release, its rows and its files in one transaction; files go if it fails."""
    number = manifest["release"]
    with _files_removed_on_error() as stored, transaction.atomic():
        # Serialises publishers of one incident; NO KEY keeps report inserts (FK share locks) flowing.
        Incident.objects.select_for_update(no_key=True).filter(pk=incident.pk).first()
        if release_last_number(incident=incident) != number - 1:
            raise ReleaseError(f"release {number} of {incident.slug} was published meanwhile; run again")
        # The public numbers are frozen with the release: summed once here, never per request.
        stats = stats_build(facts=facts, as_of=datetime.fromisoformat(manifest["created_at"]), release=number)
        release = Release.objects.create(**_release_fields(incident, staging, manifest),
                                         facts=facts, stats=stats)
        _insert_rows(release, staging / CSV_FILES["reports"])
        # Late in the transaction, so that the chain's lock is held only briefly before the commit.
        audit_record(actor=None, action=AuditAction.EXPORT_PUBLISH, subject=f"release:{release.folder}",
                     data={"rows": release.report_count, "claims": release.claim_count,
                           "manifest_sha256": release.manifest_sha256})
        release_files_store(staging=staging, folder=release.folder, stored=stored)
    return release


@contextmanager
def _files_removed_on_error():
    """Yield a list for names stored in release storage; delete them if the block fails."""
    stored: list[str] = []
    try:
        yield stored
    except BaseException:
        storage = release_storage()
        for name in stored:
            storage.delete(name)
        raise


def release_files_store(*, staging: Path, folder: str, stored: list[str]) -> None:
    """Copy every file of ``staging`` into release storage under ``folder``, the signature last."""
    storage = release_storage()
    if storage.exists(f"{folder}/{MANIFEST}") or storage.exists(f"{folder}/{SIGNATURE}"):
        # Left by a crash between storing and committing: the files sweep reports it too.
        raise ReleaseError(f"{folder} exists in release storage but is not recorded; move it away "
                           "and run again")
    names = [*sorted(path.name for path in staging.iterdir() if path.name != SIGNATURE), SIGNATURE]
    for name in names:
        with open(staging / name, "rb") as handle:
            saved = storage.save(f"{folder}/{name}", File(handle))
        stored.append(saved)
        if saved != f"{folder}/{name}":
            raise ReleaseError(f"{folder}/{name} exists in release storage; move it away and run again")


def _release_fields(incident: Incident, staging: Path, manifest: dict) -> dict:
    data = (staging / MANIFEST).read_bytes()
    number = manifest["release"]
    return {"incident": incident, "number": number, "folder": f"{incident.slug}/{number}",
            "manifest": manifest, "manifest_sha256": hashlib.sha256(data).hexdigest(),
            "signature_b64": (staging / SIGNATURE).read_text().strip(),
            "public_key_b64": manifest["signing_key"],
            "changelog": json.loads((staging / CHANGELOG).read_bytes()),
            "report_count": manifest["counts"]["reports"], "claim_count": manifest["counts"]["claims"]}


def _insert_rows(release: Release, reports_csv: Path) -> None:
    """Store reports.csv as ReleaseRow rows, CHUNK at a time (bulk_create would list them all)."""
    with open(reports_csv, newline="", encoding="utf-8") as handle:
        rows = (ReleaseRow(release=release, report_ref=row["report_ref"], exchange=row["exchange"][:100],
                           tier=row["tier"], status=row["status"], data=row)
                for row in csv.DictReader(handle))
        while batch := list(islice(rows, CHUNK)):
            ReleaseRow.objects.bulk_create(batch)


def release_copy(*, release: Release, folder: Path) -> None:
    """Copy a published release's files from release storage into a new or empty folder."""
    if folder.exists() and any(folder.iterdir()):
        raise ReleaseError(f"{folder} is not empty; copy into a new folder")
    folder.mkdir(parents=True, exist_ok=True)
    storage = release_storage()
    for name in [*release.manifest.get("files", {}), MANIFEST, SIGNATURE]:
        with storage.open(f"{release.folder}/{name}", "rb") as source, open(folder / name, "wb") as target:
            shutil.copyfileobj(source, target)


def release_check(*, folder: Path, public_key: Ed25519PublicKey) -> ReleaseCheck:
    """Check a release folder against its manifest and the manifest against the expected key."""
    found = ReleaseCheck()
    data = _read_bytes(folder / MANIFEST)
    if data is None:
        found.problems.append(f"{MANIFEST} is missing: this folder cannot be checked")
        return found
    _check_signature(folder, data, public_key, found)
    found.manifest = _parse_manifest(data, found)
    listed = found.manifest.get("files", {})
    for name, entry in listed.items():
        _check_file(folder, name, entry, found)
    for path in sorted(folder.iterdir()):
        if path.name not in listed and path.name not in (MANIFEST, SIGNATURE):
            found.warnings.append(f"{path.name}: not listed in the manifest (not part of the release)")
    return found


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _check_signature(folder: Path, data: bytes, key: Ed25519PublicKey, found: ReleaseCheck) -> None:
    """Accept only the canonical base64 of a valid signature, so no byte of manifest.sig is slack."""
    raw = _read_bytes(folder / SIGNATURE)
    if raw is None:
        found.problems.append(f"{SIGNATURE} is missing: the release is not signed")
        return
    text = raw.decode("ascii", errors="replace").removesuffix("\n")
    if not signing.signature_valid(data, text, key):
        found.problems.append(f"{SIGNATURE}: not a valid signature of {MANIFEST} by the expected key "
                              f"{signing.public_key_b64(key)} (manifest or signature changed, or signed "
                              "with another key)")


def _parse_manifest(data: bytes, found: ReleaseCheck) -> dict:
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        found.problems.append(f"{MANIFEST} is not valid JSON ({exc}); its files cannot be checked")
        return {}
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        found.problems.append(f"{MANIFEST} has no \"files\" table; its files cannot be checked")
        return {}
    return manifest


def _check_file(folder: Path, name: str, entry, found: ReleaseCheck) -> None:
    """Compare one listed file's size and sha256 with what the manifest says."""
    if name in ("", ".", "..") or Path(name).name != name or "\\" in name:
        found.problems.append(f"{MANIFEST} lists {name!r}, which is not a plain file name")
        return
    path = folder / name
    if not path.is_file():
        found.problems.append(f"{name}: missing (listed in the manifest)")
        return
    actual = file_digest(path)
    expected = entry if isinstance(entry, dict) else {}
    if actual["size"] != expected.get("size"):
        found.problems.append(f"{name}: {actual['size']} bytes, the manifest says {expected.get('size')}")
    elif actual["sha256"] != expected.get("sha256"):
        found.problems.append(f"{name}: sha256 {actual['sha256']} differs from the manifest's "
                              f"{expected.get('sha256')} (the file was changed)")
