"""Public statistics of a register: facts read back from its own files, summed, small cells folded.

One path serves every number the dashboard shows: a release's stats are computed from the very
reports.csv and claims.csv it publishes, and the journalists' live preview writes a throw-away
register and reads it the same way, so the dashboard and the register can never disagree.
docs/dashboard.md explains every figure.
"""

import csv
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from incidents.models import Claim, ClaimStatus, Report, ReportStatus, Tier
from verification.selectors import found_asset_rows

# A breakdown row describing fewer reports than this is folded into the "other" row.
SMALL_CELL = 5
ZERO = Decimal("0")
UNCHECKED_STATUSES = (ReportStatus.SUBMITTED, ReportStatus.CHECKING)
DECIDED_VERIFIED = (ReportStatus.VERIFIED, ReportStatus.PARTIALLY_VERIFIED)
PUBLIC_STATUSES = [value for value, _label in ReportStatus.choices if value != ReportStatus.WITHDRAWN]
SOURCES = ("sheet", "web", "api")


class Fact(NamedTuple):
    """What the statistics need of one register row (stored as a JSON list, in this order)."""

    source: str  # sheet | web | api
    exchange: str | None
    tier: str
    status: str
    claimed: str  # decimal text, as in reports.csv
    verified: str
    day: str | None  # UTC date of the report's earliest (verified, else any) block or trade period
    asset: str | None  # the asset of the report's largest claim (as stated, else as the check found it)
    ticket_status: str
    ticket_cited: bool
    police: bool
    bound: bool
    contested: bool
    flows: list  # [[chain, attacker address, usd]] of the report's verified transfers


# --- Facts, read from a register folder ----------------------------------------------------


def facts_from_register(*, folder: Path, ticket_cited: set[str], bound: set[str],
                        found_assets: dict[tuple, str] | None = None) -> dict[str, list]:
    """Read reports.csv and claims.csv of ``folder`` into report_ref -> fact (a JSON list), in order.

    ``found_assets`` (claim_key -> symbol) names the asset the checks found for claims stating none.
    """
    claims = _claims_by_report(folder / "claims.csv")
    for rows in claims.values():
        for claim in rows:
            claim["found_asset"] = claim["asset"] or (found_assets or {}).get(claim_key(claim))
    with open(folder / "reports.csv", newline="", encoding="utf-8") as handle:
        return {row["report_ref"]: list(_fact(row, claims.get(row["report_ref"], []), ticket_cited, bound))
                for row in csv.DictReader(handle)}


def _claims_by_report(path: Path) -> dict[str, list[dict]]:
    claims = defaultdict(list)
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            claims[row["report_ref"]].append(row)
    return claims


def _fact(row: dict, claims: list[dict], ticket_cited: set[str], bound: set[str]) -> Fact:
    ref, verified = row["report_ref"], [c for c in claims if c["status"] == ClaimStatus.VERIFIED]
    return Fact(source=source_kind(row["source"]), exchange=row["exchange"] or None, tier=row["tier"],
                status=row["status"], claimed=row["claimed_loss_usd"] or "0",
                verified=row["verified_loss_usd"] or "0", day=_day(verified) or _day(claims),
                asset=_asset(claims), ticket_status=row["ticket_status"], ticket_cited=ref in ticket_cited,
                police=row["police_report_cited"] == "yes", bound=ref in bound,
                contested="tx_contested" in row["flags"].split(";"),
                flows=[[c["chain"], c["to_address"], c["usd_value"] or "0"] for c in verified
                       if c["kind"] == "transfer"])


def source_kind(source: str) -> str:
    """Return sheet, web or api for a register ``source`` cell (FILE:ROW means an imported sheet)."""
    return source if source in ("web", "api") else "sheet"


def _day(claims: list[dict]) -> str | None:
    """The earliest UTC date among the claims' blocks or trade periods' starts (claims.csv's columns)."""
    days = sorted(moment[:10] for c in claims if (moment := c["block_time"] or c.get("period_start")))
    return days[0] if days else None


def _asset(claims: list[dict]) -> str | None:
    ranked = sorted(claims, key=lambda c: Decimal(c["usd_value"] or "0"), reverse=True)
    return next((c["found_asset"] for c in ranked if c["found_asset"]), None)


def claim_key(claim: dict) -> tuple[str, str, str, str]:
    """Identify a claims.csv row: report_ref, chain, tx_hash, log_index (as the file writes them)."""
    return claim["report_ref"], claim["chain"], claim["tx_hash"], claim["log_index"] or ""


def found_assets(*, incident, report_ids: list[int] | None = None) -> dict[tuple, str]:
    """Return claim_key -> asset symbol the transfer check found, for claims that state no asset.

    An imported sheet row often names no asset; the check read it from the chain (the chain's
    native coin, or the incident's token whose ERC-20 Transfer log it matched). The dashboard
    groups by it; claims.csv keeps the reporter's own (empty) statement.
    """
    rows = found_asset_rows(incident=incident, statuses=PUBLIC_STATUSES, report_ids=report_ids)
    return {(ref, chain, tx_hash, "" if log_index is None else str(log_index)): asset
            for ref, chain, tx_hash, log_index, asset in rows.iterator(chunk_size=5000)
            if isinstance(asset, str) and asset}


def register_extras(*, incident, report_ids: list[int] | None = None) -> tuple[set[str], set[str]]:
    """Return the refs of reports citing a ticket id and of reports with a bound transfer."""
    reports = Report.objects.active().filter(incident=incident)
    reports = reports if report_ids is None else reports.filter(pk__in=report_ids)
    cited = set(reports.exclude(support_ticket_id="").values_list("report_ref", flat=True))
    bound = (Claim.objects.filter(report__in=reports).exclude(binding="")
             .values_list("report__report_ref", flat=True).distinct())
    return cited, set(bound)


# --- Filters ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a reader may narrow the picture to; every field comes from the URL (docs/dashboard.md)."""

    min_tier: str = ""
    status: str = ""
    exchange: str = ""
    asset: str = ""
    since: date | None = None
    until: date | None = None
    source: str = ""

    def active(self) -> bool:
        return any(getattr(self, name) for name in self.__dataclass_fields__)

    def query(self) -> dict[str, str]:
        """Return the filters as URL parameters (only those set)."""
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        return {name: str(value) for name, value in values.items() if value}

    def keep(self, fact: Fact) -> bool:
        return (fact.tier >= self.min_tier and (not self.status or fact.status == self.status)
                and (not self.exchange or fact.exchange == self.exchange)
                and (not self.asset or fact.asset == self.asset)
                and (not self.source or fact.source == self.source) and self._in_range(fact.day))

    def _in_range(self, day: str | None) -> bool:
        if not (self.since or self.until):
            return True
        return day is not None and (not self.since or day >= self.since.isoformat()) and (
            not self.until or day <= self.until.isoformat())


# --- Sums and folding ------------------------------------------------------------------------


@dataclass
class Cell:
    """One breakdown row being summed: which reports it describes and its money (in cents)."""

    reports: list[int] = field(default_factory=list)  # indices into the rows; distinct per cell
    verified: int = 0


class TooFewReports(Exception):
    """The filters leave fewer reports than a public figure may describe."""


def stats_build(*, facts: list[list], as_of: datetime | None, release: int | None,
                filters: Filters = Filters()) -> dict:
    """Sum the facts into the public stats (the API's contract), folding small cells."""
    rows = [Fact(*fact) for fact in facts]
    rows = [fact for fact in rows if filters.keep(fact)] if filters.active() else rows
    if filters.active() and len(rows) < SMALL_CELL:
        raise TooFewReports
    claimed, verified = [cents(f.claimed) for f in rows], [cents(f.verified) for f in rows]
    by_exchange = _partition(rows, verified, lambda f: f.exchange)
    return {
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ") if as_of else None, "release": release,
        "reports": len(rows), "claimed_loss_usd": money(sum(claimed)),
        "verified_loss_usd": money(sum(verified)),
        "by_tier": {tier: sum(f.tier == tier for f in rows) for tier in Tier.values},
        "by_status": {status: sum(f.status == status for f in rows) for status in PUBLIC_STATUSES},
        "by_exchange": _rows("exchange", by_exchange, claimed),
        "by_asset": _rows("asset", _partition(rows, verified, lambda f: f.asset), claimed),
        "by_day": _rows("day", _partition(rows, verified, lambda f: f.day), claimed, by_key=True),
        "attacker_addresses": _address_rows(rows, claimed),
        "tickets": _tickets(rows), "police_reports": sum(f.police for f in rows),
        "contested_reports": sum(f.contested for f in rows), "bound_reports": sum(f.bound for f in rows),
        "funnel": _funnel(rows), "exchange_responses": _responses(rows, by_exchange),
    }


def cents(text: str) -> int:
    """Read a register amount ("1234.50", as CsvSink writes money) as whole cents."""
    whole, _, fraction = text.partition(".")
    if len(fraction) > 2:  # never written by the register; exact all the same
        return int(Decimal(text) * 100)
    return int(whole or "0") * 100 + int((fraction + "00")[:2])


def money(amount: int) -> str:
    """Return cents as USD text with two places, as the register writes it (amounts are never negative)."""
    whole, rest = divmod(amount, 100)
    return f"{whole}.{rest:02d}"


def _partition(rows: list[Fact], verified: list[int], key) -> dict:
    cells = defaultdict(Cell)
    for index, fact in enumerate(rows):
        cell = cells[key(fact)]
        cell.reports.append(index)
        cell.verified += verified[index]
    return cells


def _address_rows(rows: list[Fact], claimed: list[int]) -> list[dict]:
    cells = defaultdict(Cell)
    for index, fact in enumerate(rows):
        for chain, address, usd in fact.flows:
            cell = cells[(chain, address)]
            if not cell.reports or cell.reports[-1] != index:  # two transfers of one report count once
                cell.reports.append(index)
            cell.verified += cents(usd)
    return _rows(("chain", "address"), cells, claimed)


def folded_keys(cells: dict) -> set:
    """Return the keys to fold: every small cell, plus the smallest others until the fold is safe."""
    return fold_keys({key: len(cell.reports) for key, cell in cells.items()},
                     lambda keys: len(_union(cells, keys)))


def fold_keys(sizes: dict, union_size) -> set:
    """The folding rule on cell sizes (reports per key); ``union_size(keys)`` counts distinct reports.

    Shared by the in-memory sums here and the SQL sums of the live preview (dashboards.sums).
    """
    small = {key for key, size in sizes.items() if size < SMALL_CELL}
    # A fold of fewer than SMALL_CELL reports would give its cells away (total minus named rows).
    rest = sorted((k for k in sizes if k not in small), key=lambda k: (sizes[k], str(k)))
    while small and union_size(small) < SMALL_CELL and rest:
        small.add(rest.pop(0))
    return small


def _union(cells: dict, keys: Iterable) -> set[int]:
    return set().union(*(cells[key].reports for key in keys))


def _rows(name, cells: dict, claimed: list[int], by_key: bool = False) -> list[dict]:
    folded = folded_keys(cells)
    kept = [key for key in cells if key not in folded]
    kept.sort(key=lambda k: str(k) if by_key else (-len(cells[k].reports), str(k)))
    rows = [{**_key(name, key), **_sums(cells[key].reports, cells[key].verified, claimed)} for key in kept]
    if folded:
        verified = sum(cells[key].verified for key in folded)
        rows.append({"other": True, **_sums(_union(cells, folded), verified, claimed)})
    return rows


def _key(name, key) -> dict:
    return dict(zip(name, key, strict=True)) if isinstance(name, tuple) else {name: key}


def _sums(reports: Iterable[int], verified: int, claimed: list[int]) -> dict:
    reports = list(reports)
    return {"reports": len(reports), "claimed_loss_usd": money(sum(claimed[i] for i in reports)),
            "verified_loss_usd": money(verified)}


def _tickets(rows: list[Fact]) -> dict[str, int]:
    cited, verified = sum(f.ticket_cited for f in rows), sum(f.ticket_status == "dkim_verified" for f in rows)
    # "verified" is the contract's word for a DKIM-verified ticket; "dkim_verified" the page's.
    return {"cited": cited, "verified": verified, "dkim_verified": verified,
            "attested": sum(f.ticket_status == "attested" for f in rows),
            "denied": sum(f.ticket_status == "denied" for f in rows)}


def _funnel(rows: list[Fact]) -> dict[str, int]:
    """Follow the old sheet's rows: imported, checked, loss proven, decided verified."""
    sheet = [f for f in rows if f.source == "sheet"]
    return {"imported": len(sheet), "checked": sum(f.status not in UNCHECKED_STATUSES for f in sheet),
            "loss_proven": sum(f.tier >= Tier.T2 for f in sheet),
            "decided_verified": sum(f.status in DECIDED_VERIFIED for f in sheet)}


def _responses(rows: list[Fact], cells: dict) -> list[dict]:
    """Per exchange (folded as by_exchange is): tickets cited and how the exchange answered."""
    folded = folded_keys(cells)
    kept = sorted((k for k in cells if k not in folded), key=lambda k: (-len(cells[k].reports), str(k)))
    result = [{"exchange": key, **_answers([rows[i] for i in cells[key].reports])} for key in kept]
    if folded:
        result.append({"other": True, **_answers([rows[i] for i in _union(cells, folded)])})
    return result


def _answers(rows: list[Fact]) -> dict:
    return answers_row({"reports": len(rows), **_tickets(rows)})


def answers_row(counts: dict) -> dict:
    """Add the share the exchange answered ((attested + denied) / cited) to a response row's counts."""
    answered = counts["attested"] + counts["denied"]
    share = Decimal(answered) / counts["cited"] if counts["cited"] else ZERO
    return {**counts, "answered_share": f"{share:.2f}"}
