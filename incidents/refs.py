"""The register's pseudonym of a report (``report_ref``): derived once, when the report is stored, then kept.

``report_ref`` is 16 hex digits of HMAC-SHA256 keyed with ``REPORT_REF_KEY`` over ``report:<id>``
(docs/methodology.md, "Releases"). It is computed when a report is first stored, by every path
(form, API, sheet import, demo: ``Report.save`` and ``ReportQuerySet.bulk_create`` call
``report_refs_assign``), and stored on the report with the id of the key that made it. Exports
read the stored value, so rotating the key changes only the refs of reports stored afterwards
(docs/operations.md, "Key custody and rotation").

Two reports never share a ref: when a derived ref is already taken (64 bits make this a rare
event, but a rotation puts two keys' refs side by side), the next attempt hashes ``report:<id>:<n>``.
"""

import hashlib
import hmac
from collections.abc import Iterable

from django.apps import apps
from django.conf import settings
from django.db import connection, connections

REF_DIGITS = 16
KEY_ID_DIGITS = 8
CHUNK = 2000  # reports per collision query and per UPDATE
MAX_ATTEMPTS = 16  # 16 collisions in a row under a sound key would mean the key is broken


def report_ref_derive(report_id: int, key: str, attempt: int = 0) -> str:
    """Return the pseudonym ``key`` gives report ``report_id`` (``attempt`` > 0 after a collision)."""
    message = f"report:{report_id}" if attempt == 0 else f"report:{report_id}:{attempt}"
    return hmac.new(key.encode(), message.encode(), hashlib.sha256).hexdigest()[:REF_DIGITS]


def report_ref_key_id(key: str) -> str:
    """Return a short public id of a pseudonym key, stored beside each ref it made (never the key)."""
    return hashlib.sha256(b"lossproof report_ref key id\0" + key.encode()).hexdigest()[:KEY_ID_DIGITS]


def report_ref_key() -> str:
    """Return the configured pseudonym key, refusing to derive refs without one."""
    key = settings.REPORT_REF_KEY
    if not key:
        raise RuntimeError("REPORT_REF_KEY is not set: reports cannot be given their register pseudonym")
    return key


def report_refs_assign(reports: Iterable) -> None:
    """Give every stored report of ``reports`` that has no ref yet its pseudonym, and store it.

    Call it inside the transaction that stored them: one query and one UPDATE per CHUNK reports.
    """
    for chunk, refs, key_id in _given(reports):
        _store({report.pk: refs[report.pk] for report in chunk}, key_id)


def report_refs_store(report_ids: list[int]) -> None:
    """Give reports stored without a ref (known by id only) their pseudonyms, and store them."""
    refs, key_id = report_refs_derive(report_ids)
    for start in range(0, len(report_ids), CHUNK):
        _store({pk: refs[pk] for pk in report_ids[start:start + CHUNK]}, key_id)


def report_refs_give(reports: Iterable) -> None:
    """Set the pseudonym of reports that have an id but are not stored yet (no UPDATE needed)."""
    for _chunk in _given(reports):
        pass


def _reports():
    """The Report model, looked up in the app registry: incidents.models calls this module."""
    return apps.get_model("incidents", "Report")


def report_refs_derive(report_ids: list[int]) -> tuple[dict[int, str], str]:
    """Return id -> unique ref for reports about to be stored with these ids, and the key's id."""
    key = report_ref_key()
    refs = {}
    for start in range(0, len(report_ids), CHUNK):
        refs |= _unique_refs(report_ids[start:start + CHUNK], key)
    return refs, report_ref_key_id(key)


def report_ids_reserve(count: int, *, using: str) -> list[int]:
    """Take ``count`` ids from the reports' sequence (PostgreSQL), so that refs can go in the INSERT."""
    Report = _reports()

    table = Report._meta.db_table
    with connections[using].cursor() as cursor:
        # The sequence is looked up once, not once per id: 2,000 ids took 7 ms, now 1.5.
        cursor.execute("WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence(%s, 'id')::regclass AS seq) "
                       "SELECT nextval(s.seq) FROM s, generate_series(1, %s)", [table, count])
        return [row[0] for row in cursor.fetchall()]


def _given(reports: Iterable):
    """Set the refs of reports with an id and no ref, CHUNK at a time; yield (chunk, refs, key id)."""
    pending = [report for report in reports if report.pk is not None and not report.report_ref]
    if not pending:
        return
    key = report_ref_key()
    key_id = report_ref_key_id(key)
    for start in range(0, len(pending), CHUNK):
        chunk = pending[start:start + CHUNK]
        refs = _unique_refs([report.pk for report in chunk], key)
        for report in chunk:
            report.report_ref, report.report_ref_key = refs[report.pk], key_id
        yield chunk, refs, key_id


def _store(refs: dict[int, str], key_id: str) -> None:
    """Write the refs in one UPDATE joined to a VALUES list (bulk_update's CASE costs seconds per 1,000)."""
    Report = _reports()

    table = connection.ops.quote_name(Report._meta.db_table)
    values = ", ".join(["(%s, %s)"] * len(refs))
    params = [value for pair in refs.items() for value in pair]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH given(id, ref) AS (VALUES {values}) "  # noqa: S608 (no value in the text)
                       f"UPDATE {table} SET report_ref = given.ref, report_ref_key = %s "
                       f"FROM given WHERE {table}.id = given.id", [*params, key_id])


def _taken(candidates: list[str]) -> set[str]:
    Report = _reports()

    if connection.vendor == "postgresql":  # one array parameter: the ORM's IN list costs more than the lookup
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT report_ref FROM {connection.ops.quote_name(Report._meta.db_table)} "  # noqa: S608
                           "WHERE report_ref = ANY(%s)", [candidates])
            return {row[0] for row in cursor.fetchall()}
    return set(Report.objects.filter(report_ref__in=candidates).values_list("report_ref", flat=True))


def _unique_refs(report_ids: list[int], key: str) -> dict[int, str]:
    """Return id -> ref for these reports, none equal to a stored ref or to another of them."""
    refs, attempts = {}, dict.fromkeys(report_ids, 0)
    waiting = list(report_ids)
    while waiting:
        candidates = {pk: report_ref_derive(pk, key, attempts[pk]) for pk in waiting}
        taken = _taken(list(candidates.values()))
        given = set(refs.values())
        waiting = []
        for report_id, ref in candidates.items():
            if ref in taken or ref in given:
                attempts[report_id] += 1
                if attempts[report_id] >= MAX_ATTEMPTS:
                    raise RuntimeError("REPORT_REF_KEY keeps deriving refs already taken: is it broken?")
                waiting.append(report_id)
            else:
                refs[report_id] = ref
                given.add(ref)
    return refs
