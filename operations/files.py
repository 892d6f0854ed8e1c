"""The files sweep: find files that no row names and rows whose file is missing, on either storage.

Uploads and erasures keep rows and files together (incidents.uploads, registry.services), but a
process killed between the two, or a storage error after a commit, can still leave one without
the other. The sweep reports them (log, /metrics, the operator page); it deletes nothing, so an
operator decides (docs/runbook.md).
"""

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from incidents.models import DraftUpload, Evidence
from operations.models import FileSweep
from registry.models import Release, release_storage
from registry.services import MANIFEST, SIGNATURE

logger = logging.getLogger(__name__)
SAMPLE = 100  # names kept per side in one FileSweep row; the counts are complete


def storage_walk(storage) -> Iterator[tuple[str, datetime]]:
    """Yield (name, last modified) of every file in a local folder or under a bucket's prefix."""
    if isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        for path in root.rglob("*") if root.is_dir() else []:
            if path.is_file():
                yield path.relative_to(root).as_posix(), datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
        return
    prefix = f"{storage.location}/" if storage.location else ""
    # One listing request per thousand keys, instead of a request per file.
    for item in storage.bucket.objects.filter(Prefix=prefix):
        yield item.key[len(prefix):], item.last_modified


def evidence_rows() -> dict[str, str]:
    """Return file name -> row label for evidence and draft uploads (they share one storage)."""
    # An empty name is a file erased on purpose after its incident closed (incidents.retention).
    kept = Evidence.objects.exclude(file="")
    rows = {name: f"evidence:{pk}" for pk, name in kept.values_list("pk", "file")}
    rows.update({name: f"draft_upload:{pk}" for pk, name in DraftUpload.objects.values_list("pk", "file")})
    return rows


def release_rows() -> dict[str, str]:
    """Return file name -> row label for every file a published release lists."""
    rows = {}
    for folder, manifest in Release.objects.values_list("folder", "manifest"):
        for name in [*manifest.get("files", {}), MANIFEST, SIGNATURE]:
            rows[f"{folder}/{name}"] = f"release:{folder}"
    return rows


def files_sweep(*, grace: timedelta) -> FileSweep:
    """Compare both storages with their rows, record what does not match and log it."""
    cutoff = timezone.now() - grace
    sides = [("evidence", Evidence._meta.get_field("file").storage, evidence_rows),
             ("releases", release_storage(), release_rows)]
    found = [_side_sweep(label, storage, rows, cutoff) for label, storage, rows in sides]
    files, rows = [n for side in found for n in side[0]], [n for side in found for n in side[1]]
    sweep = FileSweep.objects.create(
        files_checked=sum(side[2] for side in found), rows_checked=sum(side[3] for side in found),
        files_without_row=files[:SAMPLE], rows_without_file=rows[:SAMPLE],
        files_without_row_count=len(files), rows_without_file_count=len(rows))
    if files or rows:
        logger.warning("files sweep: %s files without a row, %s rows without a file (first: %s)",
                       len(files), len(rows), (files + rows)[:5])
    return sweep


def _side_sweep(label: str, storage, rows: Callable[[], dict[str, str]], cutoff: datetime):
    # Rows read before the walk had their file written before they committed; rows read after
    # it name every file that was stored meanwhile (younger files are skipped by the cutoff too).
    before = rows()
    files = dict(storage_walk(storage))
    after = rows()
    orphans = sorted(f"{label}:{name}" for name, modified in files.items()
                     if name not in after and modified < cutoff)
    missing = sorted(f"{row} {name}" for name, row in before.items() if name not in files and name in after)
    return orphans, missing, len(files), len(after)
