"""Write many new rows with PostgreSQL's COPY: what a large sheet import spends its time on.

``bulk_create`` prepares every field of every row through Django's field methods and then has
psycopg quote them into one statement; on a 100,000-row sheet that is most of the import
(bench/register_scale.py). COPY streams the values as they are, through psycopg's C dumpers.
Only plain values go through it: text, numbers, dates, booleans, None, and JSON (wrapped).
A field the caller does not give takes its model default, computed once per call; ``auto_now``
and ``auto_now_add`` fields take the time of the call. No signal is sent (as with bulk_create).
"""

import json
from collections.abc import Iterable

import orjson
from django.db import connection, models
from django.utils import timezone


def values_insert(model: type[models.Model], rows: list[dict]) -> None:
    """Insert rows giving every column but the key ({attname: value}): COPY where the database has it."""
    given = tuple(field.attname for field in model._meta.concrete_fields if not field.primary_key)
    (rows_copy if copy_available() else rows_insert)(model, rows, given=given)


def copy_available() -> bool:
    """Whether the default database can take COPY (PostgreSQL through psycopg 3)."""
    return connection.vendor == "postgresql"


def rows_copy(model: type[models.Model], rows: Iterable[dict], *, given: tuple[str, ...]) -> None:
    """COPY ``rows`` (attname -> value for every name in ``given``) into the model's table.

    Columns not in ``given`` take their default; the primary key, when not given, its sequence.
    """
    fields, defaulted = _columns(model, given)
    now = timezone.now()
    tail = [_default(field, now) for field in defaulted]
    json_given = {name for name in given if isinstance(fields[name], models.JSONField)}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in [*(fields[name] for name in given), *defaulted])
    with connection.cursor() as cursor, \
            cursor.cursor.copy(f"COPY {quote(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([*_given_values(row, given, json_given), *tail])


def rows_insert(model: type[models.Model], rows: Iterable[dict], *, given: tuple[str, ...]) -> None:
    """INSERT ``rows``, taken as rows_copy takes them, with one executemany (a database without COPY).

    Each value is prepared for the database as its field would prepare it (plain values as they
    are: _preparer), without a model instance per row; the defaulted columns' values once per call.
    """
    fields, defaulted = _columns(model, given)
    now = timezone.now()
    tail = [field.get_db_prep_save(_default_value(field, now), connection) for field in defaulted]
    prepare = [(name, _preparer(fields[name])) for name in given]
    quote = connection.ops.quote_name
    named = [*(fields[name] for name in given), *defaulted]
    columns = ", ".join(quote(field.column) for field in named)
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(named))})"  # noqa: S608 (no value in the text)
    values = [[row[name] if convert is None else convert(row[name]) for name, convert in prepare] + tail
              for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(sql, values)


def _preparer(field: models.Field):
    """Return how to turn a value into what the driver takes for this column (None: as it is).

    Numbers, text and keys go as they are; JSON is encoded once, as the field would; anything
    else (decimals, dates, booleans, times on SQLite) through the field.
    """
    if isinstance(field, models.JSONField):
        if field.encoder is None:
            return json_text
        return lambda value, encoder=field.encoder: json.dumps(value, cls=encoder)
    plain = (models.IntegerField, models.CharField, models.TextField, models.ForeignKey)
    if isinstance(field, plain):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


def _columns(model: type[models.Model], given: tuple[str, ...]) -> tuple[dict, list]:
    """Return {attname: field} of the columns written, and the fields not given, in table order."""
    fields = {field.attname: field for field in model._meta.concrete_fields
              if field.attname in given or not field.primary_key}
    # The given columns first, then the defaulted ones: every row ends with the same values.
    return fields, [field for name, field in fields.items() if name not in given]


def _given_values(row: dict, given: tuple[str, ...], json_given: set[str]) -> list:
    if not json_given:
        return [row[name] for name in given]
    # As JSON text: COPY's text format hands it to jsonb's parser, as Jsonb would after dumping it.
    return [json_text(row[name]) if name in json_given else row[name] for name in given]


def json_text(value) -> str:
    """Encode a value as JSON text: orjson, several times faster than json; json where orjson refuses.

    orjson refuses what JSON columns rarely hold (integers beyond 64 bits, keys that are not
    text); json encodes those as a JSONField would. Spacing aside, the text is the same JSON.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def _default(field: models.Field, now):
    value = _default_value(field, now)
    # As text, dumped once: psycopg would dump a Jsonb default again for every row.
    return json.dumps(value) if isinstance(field, models.JSONField) else value


def _default_value(field: models.Field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


class PlannerStatistics:
    """Keep PostgreSQL's planner statistics of tables a bulk write is growing (ANALYZE them).

    Autovacuum analyzes a table a minute or more after it changed. Until then, tables a first
    import has just filled have no statistics, and the planner reads the checks' batches by
    scanning them whole: 8 to 30 ms per read at 20,000 rows, growing with the table, where an
    index answers in well under one (bench/verify_throughput.py --end-to-end). The tables are
    analyzed once the rows written since their statistics were taken are nine times the rows
    those statistics count (at least ``minimum``): the first chunks of a new incident's import
    give a table without statistics its first, and a table ten times larger its next. In
    between, the planner scales the row counts it knows by the table's size on disk, so more
    ANALYZEs (each reads a sample of up to 30,000 rows) would only slow the import's writer.
    Other databases plan without such statistics.
    """

    def __init__(self, *models: type[models.Model], minimum: int = 1_000):
        self.tables = [model._meta.db_table for model in models]
        self.minimum, self.counted, self.written = minimum, None, 0

    def grown(self, rows: int) -> None:
        """Note ``rows`` more rows written (and committed, or in the caller's transaction)."""
        if connection.vendor != "postgresql":
            return
        if self.counted is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT GREATEST(reltuples, 0) FROM pg_class WHERE relname = %s",
                               [self.tables[0]])
                self.counted = int(cursor.fetchone()[0])
        self.written += rows
        if self.written >= max(self.minimum, 9 * self.counted):
            quote = connection.ops.quote_name
            with connection.cursor() as cursor:
                cursor.execute(f"ANALYZE {', '.join(quote(table) for table in self.tables)}")
            self.counted, self.written = self.counted + self.written, 0
