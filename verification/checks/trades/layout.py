"""What an export layout is: its header, how its rows read, and how headers are compared.

The layout modules (layouts/) build on it, and reading.py looks the layouts up by header; it sits
below both so that neither imports the other's importer.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, timedelta, timezone, tzinfo

from verification.checks.trades.model import Fill, Legs, SkippedRow
from verification.checks.trades.rows import Row

ZONE_RE = re.compile(r"^(.*?)\s*\(utc\s*(?:([+-])(\d{1,2}):?(\d{2})?)?\)$")

Item = Fill | Legs | SkippedRow


@dataclass(frozen=True)
class Layout:
    """One export layout an exchange writes, told apart by its header row."""

    name: str  # machine name, stored with the check results
    exchange: str
    title: str  # the report's name on the exchange's site
    header: str  # the header row as the exchange writes it, comma-separated
    parse: Callable[[Iterable[Row]], Iterable[Item]]
    where: str  # where on the exchange's site the user downloads it
    source: str = ""  # the page or repository path the columns were checked against; "" = unverified
    optional: frozenset[str] = frozenset()  # columns older or trimmed exports may lack
    zone: tzinfo = UTC  # the zone of naive times when the header names none

    @property
    def columns(self) -> list[str]:
        return self.header.split(",")

    @property
    def required(self) -> set[str]:
        return {header_key(col)[0] for col in self.columns if col not in self.optional}


def header_key(cell: str) -> tuple[str, tzinfo | None]:
    """Compare headers loosely; "Filled Time(UTC+08:00)" is "filled time(utc)" in zone +08:00."""
    text = cell.strip().lstrip("\ufeff").strip().lower()
    match = ZONE_RE.match(text)
    if match is None:
        return text, None
    sign, hours, minutes = match[2], int(match[3] or 0), int(match[4] or 0)
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    return f"{match[1]}(utc)", timezone(offset) if offset else UTC


