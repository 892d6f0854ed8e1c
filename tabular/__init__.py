"""Bounded reading of untrusted spreadsheets (CSV and XLSX), shared by every importer and parser.

Neutral: no Django, no app imports, so both the sheet importer (incidents) and the trade-export
parser (verification) can stand on it. See docs/tabular.md.
"""

from tabular.reader import (
    MB,
    Limits,
    Table,
    TableError,
    decimal_text,
    open_table,
    xlsx_bomb_problem,
)

__all__ = ["MB", "Limits", "Table", "TableError", "decimal_text", "open_table", "xlsx_bomb_problem"]
