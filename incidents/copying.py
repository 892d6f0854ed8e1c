"""Write many new rows with PostgreSQL's COPY: what a large sheet import spends its time on.

``bulk_create`` prepares every field of every row through Django's field methods and then has
psycopg quote them into one statement; on a 100,000-row sheet that is most of the import
(bench/register_scale.py). COPY streams the values as they are, through psycopg's C dumpers.
Only plain values go through it: text, numbers, dates, booleans, None, and JSON (wrapped).
A field the caller does not give takes its model default, computed once per call; ``auto_now``
and ``auto_now_add`` fields take the time of the call. No signal is sent (as with bulk_create).
"""

from collections.abc import Iterable

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb


def copy_available() -> bool:
    """Whether the default database can take COPY (PostgreSQL through psycopg 3)."""
    return connection.vendor == "postgresql"


def rows_copy(model: type[models.Model], rows: Iterable[dict], *, given: tuple[str, ...]) -> None:
    """COPY ``rows`` (attname -> value for every name in ``given``) into the model's table.

    Columns not in ``given`` take their default; the primary key, when not given, its sequence.
    """
    now = timezone.now()
    fields = [field for field in model._meta.concrete_fields
              if field.attname in given or not field.primary_key]
    defaults = {field.attname: _default(field, now) for field in fields if field.attname not in given}
    json_given = {field.attname for field in fields if field.attname in given
                  and isinstance(field, models.JSONField)}
    names = [field.attname for field in fields]
    quote = connection.ops.quote_name
    sql = (f"COPY {quote(model._meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
           "FROM STDIN")
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row([
                (Jsonb(row[name]) if name in json_given else row[name]) if name in row else defaults[name]
                for name in names])


def _default(field: models.Field, now):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    value = field.get_default()
    return Jsonb(value) if isinstance(field, models.JSONField) else value
