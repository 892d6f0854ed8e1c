"""Fast row writes for the engine's hot path: a few statements per batch, not one per row.

Django's bulk_update builds one CASE expression per field over every row, which costs more
than the chain reads it follows (measured in bench/verify_throughput.py). On PostgreSQL a batch
of rows is updated with one ``UPDATE … FROM unnest(…)`` (one array per column). Elsewhere
(SQLite) one prepared statement is sent with executemany: SQLite runs in the worker's own
process, so a statement costs no round trip there. Inserts go through incidents.copying
(``values_insert``: COPY on PostgreSQL), shared with the sheet import.
"""


from django.db import DEFAULT_DB_ALIAS, connections, models


def _real_connection():
    # Not django.db.connection, a proxy: each of the many thousands of value conversions
    # below would look this thread's connection up again through it.
    return connections[DEFAULT_DB_ALIAS]


def rows_update(model: type[models.Model], objects: list[models.Model], fields: list[str]) -> None:
    """Write ``fields`` of each object (matched by primary key)."""
    if not objects:
        return
    connection = _real_connection()
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    params = [[field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns]
              + [obj.pk] for obj in objects]
    if connection.vendor == "postgresql":
        _update_from_values(connection, meta, columns, params)
        return
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(field.column)} = %s" for field in columns)
    sql = f"UPDATE {quote(meta.db_table)} SET {assignments} WHERE {quote(meta.pk.column)} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _update_from_values(connection, meta, columns: list, params: list[list]) -> None:
    """One UPDATE joined to the rows given as one array per column (unnest): one statement, few values."""
    quote = connection.ops.quote_name
    names = [f"c{n}" for n in range(len(columns))]
    casts = [field.db_type(connection) for field in columns] + [meta.pk.db_type(connection)]
    arrays = ", ".join(f"%s::{cast}[]" for cast in casts)
    pairs = zip(columns, names, strict=True)
    assignments = ", ".join(f"{quote(field.column)} = v.{name}" for field, name in pairs)
    table, pk = quote(meta.db_table), quote(meta.pk.column)
    sql = (f"UPDATE {table} SET {assignments} FROM unnest({arrays}) "  # noqa: S608
           f"AS v({', '.join([*names, 'pk'])}) WHERE {table}.{pk} = v.pk")
    with connection.cursor() as cursor:
        cursor.execute(sql, [list(column) for column in zip(*params, strict=True)])
