"""Audit log: append events to the hash chain and check the chain (docs/operations.md, "Audit log")."""

import json
import zlib

from django.db import connection, transaction
from django.utils import timezone

from audit.models import GENESIS_HASH, AuditAction, AuditEvent

# Every writer on PostgreSQL takes this advisory lock before appending, so two cannot both
# extend the same last event.
CHAIN_LOCK_ID = zlib.crc32(b"lossproof.audit.chain")
DATA_MAX_BYTES = 2000
CHUNK = 2000


def audit_record(*, actor, action: AuditAction, subject: str, data: dict | None = None) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction when there is one."""
    data = _data_checked(data or {})
    person = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():  # a savepoint inside the caller's transaction: both commit or neither
        _chain_lock()
        last = AuditEvent.objects.order_by("-seq").only("seq", "hash").first()
        event = AuditEvent(seq=last.seq + 1 if last else 1, at=timezone.now(), actor=person,
                           actor_label=actor_label(actor), action=AuditAction(action).value,
                           subject=subject, data=data, prev_hash=last.hash if last else GENESIS_HASH)
        event.hash = event.hash_compute()
        event.save(force_insert=True)
    return event


def actor_label(actor) -> str:
    """Describe who acted by account id and role: never a name or an email, which erasure must reach."""
    if actor is None:
        return "command line"
    if not getattr(actor, "is_authenticated", False):
        return "anonymous"
    staff = ", staff" if actor.is_staff else ""
    return f"user {actor.pk} ({actor.role}{staff})"


def _chain_lock() -> None:
    """Serialise appenders until the surrounding transaction ends."""
    # SQLite needs nothing more: settings open every transaction IMMEDIATE, so the atomic
    # block around this call already holds the database's single write lock.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_ID])


def _data_checked(data: dict) -> dict:
    """Refuse data the hash could not survive a round trip through the database with."""
    # Floats are out: PostgreSQL's jsonb may give 1e2 back as 100, which serialises differently.
    def plain(value) -> bool:
        if isinstance(value, dict):
            return all(isinstance(key, str) and plain(item) for key, item in value.items())
        if isinstance(value, list):
            return all(plain(item) for item in value)
        return value is None or isinstance(value, str | int | bool)

    if not isinstance(data, dict) or not plain(data):
        raise ValueError("audit data must be a dict of strings, integers, booleans, lists and dicts")
    if len(json.dumps(data)) > DATA_MAX_BYTES:
        raise ValueError(f"audit data must stay under {DATA_MAX_BYTES} bytes: ids and counts, not content")
    return data


def audit_verify() -> list[str]:
    """Recompute the chain in seq order; describe each edited, deleted or reordered event."""
    problems: list[str] = []
    expected_seq, prev_hash = 1, GENESIS_HASH
    rekeys = list(AuditEvent.objects.filter(action=AuditAction.AUDIT_REKEY).values_list("seq", flat=True))
    if len(rekeys) > 1:
        problems.append(f"the chain holds {len(rekeys)} re-key events (seq {rekeys}); it is keyed once")
    keyed_from = rekeys[0] if rekeys else 1  # no re-key event: keyed from the first event
    for event in AuditEvent.objects.order_by("seq").iterator(chunk_size=CHUNK):
        problems += _event_problems(event, expected_seq=expected_seq, prev_hash=prev_hash,
                                    keyed=event.seq >= keyed_from)
        # Go on from the stored hash, so that one edited event is reported once, not at every later one.
        expected_seq, prev_hash = event.seq + 1, event.hash
    return problems


def _event_problems(event: AuditEvent, *, expected_seq: int, prev_hash: str, keyed: bool) -> list[str]:
    found = []
    if event.seq != expected_seq:
        missing = (f"event {expected_seq} is" if event.seq == expected_seq + 1
                   else f"events {expected_seq} to {event.seq - 1} are")
        found.append(f"seq {event.seq}: {missing} missing (deleted)")
    elif event.prev_hash != prev_hash:
        found.append(f"seq {event.seq}: prev_hash is not the hash of event {expected_seq - 1} "
                     "(an event was deleted, inserted or moved)")
    if event.hash_compute(keyed=keyed) != event.hash:
        found.append(f"seq {event.seq}: hash does not match the event's contents (the event was edited)")
    # The FK may only be nulled (the account was deleted), never pointed at someone else.
    if event.actor_id is not None and not event.actor_label.startswith(f"user {event.actor_id} "):
        found.append(f"seq {event.seq}: actor {event.actor_id} is not the account in its label "
                     f"{event.actor_label!r} (the actor was changed)")
    return found


def audit_anchor_check(*, seq: int, expected_hash: str) -> list[str]:
    """Compare event ``seq`` with the hash noted for it earlier, outside the database."""
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None:
        return [f"seq {seq}: missing, though noted earlier with hash {expected_hash} (the log was cut off)"]
    if event.hash != expected_hash:
        return [f"seq {seq}: hash {event.hash}, noted earlier as {expected_hash} (the log was rewritten)"]
    return []


def audit_head() -> AuditEvent | None:
    """Return the last event of the chain, whose hash vouches for every event before it."""
    return AuditEvent.objects.order_by("-seq").first()


def release_heads(*, storage) -> list[tuple[str, int, str]]:
    """Return (release folder, seq, hash) of the audit head each published manifest recorded.

    ``storage`` is where releases are published (STORAGES["releases"]: the local folder or the
    bucket), read as INCIDENT/NUMBER/manifest.json.
    """
    heads = []
    for folder in _release_folders(storage):
        with storage.open(f"{folder}/manifest.json") as manifest:
            head = json.loads(manifest.read()).get("audit_head")
        if isinstance(head, dict) and isinstance(head.get("seq"), int) and isinstance(head.get("hash"), str):
            heads.append((folder, head["seq"], head["hash"]))
    return heads


def _release_folders(storage) -> list[str]:
    try:
        incidents, _ = storage.listdir("")
    except FileNotFoundError:  # a local folder nothing was published into yet
        return []
    folders = []
    for incident in sorted(incidents):
        numbers, _ = storage.listdir(incident)
        folders += [f"{incident}/{number}" for number in sorted(numbers)
                    if storage.exists(f"{incident}/{number}/manifest.json")]
    return folders
