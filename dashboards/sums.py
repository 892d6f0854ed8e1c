"""The live preview's numbers, summed in SQL from the per-report facts (ReportFact, ReportFlow).

The same contract and the same folding as ``registry.stats.stats_build``, which sums a release's
facts in memory: a handful of grouped queries instead of loading every report's facts, so a
rebuild after one decision costs the same few queries at 1,000 or 100,000 reports.
tests/dashboards/test_sums.py holds the two to the same answers.
"""

from datetime import date, datetime

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from dashboards.models import ReportFact, ReportFlow
from incidents.models import Tier
from registry.stats import (
    DECIDED_VERIFIED,
    PUBLIC_STATUSES,
    SMALL_CELL,
    UNCHECKED_STATUSES,
    Filters,
    TooFewReports,
    answers_row,
    fold_keys,
    money,
)

NO_FILTERS = Filters()
SUMS = {"n": Count("id"), "claimed": Sum("claimed"), "verified": Sum("verified")}
TICKETS = {"cited": Count("id", filter=Q(ticket_cited=True)),
           "dkim": Count("id", filter=Q(ticket_status="dkim_verified")),
           "attested": Count("id", filter=Q(ticket_status="attested")),
           "denied": Count("id", filter=Q(ticket_status="denied"))}
SHEET = Q(source="sheet")
HEAD = {**SUMS, **TICKETS, "police": Count("id", filter=Q(police=True)),
        "contested": Count("id", filter=Q(contested=True)), "bound": Count("id", filter=Q(bound=True)),
        "imported": Count("id", filter=SHEET),
        "checked": Count("id", filter=SHEET & ~Q(status__in=UNCHECKED_STATUSES)),
        "loss_proven": Count("id", filter=SHEET & Q(tier__gte=Tier.T2)),
        "decided_verified": Count("id", filter=SHEET & Q(status__in=DECIDED_VERIFIED))}


def facts_filtered(*, incident_id: int, filters: Filters = NO_FILTERS) -> QuerySet:
    """Return the incident's fact rows that ``filters`` keep (registry.stats.Filters.keep, in SQL)."""
    rows = ReportFact.objects.filter(incident_id=incident_id)
    for name in ("status", "exchange", "asset", "source"):
        if getattr(filters, name):
            rows = rows.filter(**{name: getattr(filters, name)})
    if filters.min_tier:
        rows = rows.filter(tier__gte=filters.min_tier)
    if filters.since:
        rows = rows.filter(day__gte=filters.since)
    if filters.until:
        rows = rows.filter(day__lte=filters.until)
    return rows.order_by()


def sql_stats(*, incident_id: int, as_of: datetime | None, release: int | None,
              filters: Filters = NO_FILTERS) -> dict:
    """Sum the incident's fact rows into the public stats (the API's contract), folding small cells."""
    rows = facts_filtered(incident_id=incident_id, filters=filters)
    grouped = _grouping_sets(rows) if connection.vendor == "postgresql" else _grouped(rows)
    head, tiers, statuses, exchanges, assets, days = grouped
    if filters.active() and head["n"] < SMALL_CELL:
        raise TooFewReports
    exchange_folded = _fold(exchanges)
    return {
        "as_of": as_of.strftime("%Y-%m-%dT%H:%M:%SZ") if as_of else None, "release": release,
        "reports": head["n"], "claimed_loss_usd": money(head["claimed"]),
        "verified_loss_usd": money(head["verified"]),
        "by_tier": {tier: tiers.get(tier, 0) for tier in Tier.values},
        "by_status": {status: statuses.get(status, 0) for status in PUBLIC_STATUSES},
        "by_exchange": _rows("exchange", exchanges, exchange_folded),
        "by_asset": _rows("asset", assets),
        "by_day": _rows("day", days, by_key=True),
        "attacker_addresses": _addresses(rows, incident_id),
        "tickets": _tickets(head), "police_reports": head["police"],
        "contested_reports": head["contested"], "bound_reports": head["bound"],
        "funnel": {name: head[name] for name in ("imported", "checked", "loss_proven", "decided_verified")},
        "exchange_responses": _responses(exchanges, exchange_folded),
    }


def _grouped(rows: QuerySet) -> tuple[dict, dict, dict, dict, dict, dict]:
    """The totals and the five groupings, one query each (any database)."""
    head = {key: int(value or 0) for key, value in rows.aggregate(**HEAD).items()}
    return (head, dict(rows.values_list("tier").annotate(n=Count("id"))),
            dict(rows.values_list("status").annotate(n=Count("id"))),
            _cells(rows, "exchange", extra=TICKETS), _cells(rows, "asset"), _cells(rows, "day"))


# PostgreSQL: the same sums in one pass over the rows (GROUPING SETS); keys as in HEAD.
GROUPED_SQL = {"n": "COUNT(*)", "claimed": "SUM(claimed)", "verified": "SUM(verified)",
               "cited": "COUNT(*) FILTER (WHERE ticket_cited)",
               "dkim": "COUNT(*) FILTER (WHERE ticket_status = 'dkim_verified')",
               "attested": "COUNT(*) FILTER (WHERE ticket_status = 'attested')",
               "denied": "COUNT(*) FILTER (WHERE ticket_status = 'denied')",
               "police": "COUNT(*) FILTER (WHERE police)", "contested": "COUNT(*) FILTER (WHERE contested)",
               "bound": "COUNT(*) FILTER (WHERE bound)",
               "imported": "COUNT(*) FILTER (WHERE source = 'sheet')",
               "checked": "COUNT(*) FILTER (WHERE source = 'sheet' AND status NOT IN (%s))",
               "loss_proven": "COUNT(*) FILTER (WHERE source = 'sheet' AND tier >= %s)",
               "decided_verified": "COUNT(*) FILTER (WHERE source = 'sheet' AND status IN (%s))"}
KEYS = ("tier", "status", "exchange", "asset", "day")


def _grouping_sets(rows: QuerySet) -> tuple[dict, dict, dict, dict, dict, dict]:
    """What _grouped returns, from one query: GROUP BY GROUPING SETS ((tier), …, ())."""
    facts_sql, facts_params = rows.values(*KEYS, "claimed", "verified", "ticket_cited", "ticket_status",
                                          "police", "contested", "bound", "source").query.sql_with_params()
    unchecked, decided = list(UNCHECKED_STATUSES), list(DECIDED_VERIFIED)
    sums = ", ".join(GROUPED_SQL.values()).replace(
        "NOT IN (%s)", f"NOT IN ({', '.join(['%s'] * len(unchecked))})").replace(
        "status IN (%s)", f"status IN ({', '.join(['%s'] * len(decided))})")
    sets = ", ".join(f"({key})" for key in KEYS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT GROUPING({', '.join(KEYS)}), {', '.join(KEYS)}, {sums} "  # noqa: S608
                       f"FROM ({facts_sql}) f GROUP BY GROUPING SETS ({sets}, ())",
                       [*unchecked, Tier.T2, *decided, *facts_params])
        found = cursor.fetchall()
    everything = (1 << len(KEYS)) - 1
    groups = {key: {} for key in KEYS}
    head = dict.fromkeys(GROUPED_SQL, 0)
    for row in found:
        sums = {name: int(value or 0) for name, value in zip(GROUPED_SQL, row[1 + len(KEYS):], strict=True)}
        if row[0] == everything:
            head = sums
            continue
        place = next(i for i in range(len(KEYS)) if not row[0] & (1 << (len(KEYS) - 1 - i)))
        key = row[1 + place]
        groups[KEYS[place]][key.isoformat() if isinstance(key, date) else key] = sums
    counts = {name: {key: cell["n"] for key, cell in groups[name].items()} for name in ("tier", "status")}
    return head, counts["tier"], counts["status"], groups["exchange"], groups["asset"], groups["day"]


def _cells(rows: QuerySet, name: str, extra: dict | None = None) -> dict:
    """Group the rows by one fact: key -> its sums (each report in exactly one cell)."""
    cells = {}
    for cell in rows.values(name).annotate(**SUMS, **(extra or {})):
        key = cell.pop(name)
        cells[key.isoformat() if isinstance(key, date) else key] = {
            field: int(value or 0) for field, value in cell.items()}
    return cells


def _fold(cells: dict) -> set:
    return fold_keys({key: cell["n"] for key, cell in cells.items()},
                     lambda keys: sum(cells[key]["n"] for key in keys))  # disjoint cells


def _rows(name: str, cells: dict, folded: set | None = None, by_key: bool = False) -> list[dict]:
    folded = _fold(cells) if folded is None else folded
    kept = [key for key in cells if key not in folded]
    kept.sort(key=lambda k: str(k) if by_key else (-cells[k]["n"], str(k)))
    rows = [{name: key, **_sums(cells[key])} for key in kept]
    if folded:
        rows.append({"other": True, **_sums({field: sum(cells[key][field] for key in folded)
                                             for field in SUMS})})
    return rows


def _sums(cell: dict) -> dict:
    return {"reports": cell["n"], "claimed_loss_usd": money(cell["claimed"]),
            "verified_loss_usd": money(cell["verified"])}


def _addresses(rows: QuerySet, incident_id: int) -> list[dict]:
    """Per attacker address: reports paying it (once each), their claimed loss, the verified inflow."""
    facts_sql, facts_params = rows.values_list("report_id", "claimed").query.sql_with_params()
    flows = ReportFlow._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.target, COUNT(*), SUM(f.usd), SUM(r.claimed) FROM (SELECT target, report_id, "  # noqa: S608
            f"SUM(usd) AS usd FROM {flows} WHERE incident_id = %s GROUP BY target, report_id) f "
            f"JOIN ({facts_sql}) r ON r.report_id = f.report_id GROUP BY f.target",
            [incident_id, *facts_params])
        cells = {tuple(target.split(" ", 1)): {"n": n, "verified": int(usd or 0),
                                                "claimed": int(claimed or 0)}
                 for target, n, usd, claimed in cursor.fetchall()}

    def union(keys) -> tuple[int, int]:
        """Distinct reports paying any of ``keys``, and their claimed loss (a report counts once)."""
        kept = [" ".join(key) for key in cells if key not in keys]
        excluded = f" AND target NOT IN ({', '.join(['%s'] * len(kept))})" if kept else ""
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), SUM(r.claimed) FROM ({facts_sql}) r WHERE r.report_id IN "  # noqa: S608
                f"(SELECT report_id FROM {flows} WHERE incident_id = %s{excluded})",
                [*facts_params, incident_id, *kept])
            n, claimed = cursor.fetchone()
        return int(n), int(claimed or 0)

    folded = fold_keys({key: cell["n"] for key, cell in cells.items()}, lambda keys: union(keys)[0])
    kept = sorted((key for key in cells if key not in folded), key=lambda k: (-cells[k]["n"], str(k)))
    result = [{"chain": key[0], "address": key[1], **_sums(cells[key])} for key in kept]
    if folded:
        n, claimed = union(folded)
        verified = sum(cells[key]["verified"] for key in folded)
        result.append({"other": True, **_sums({"n": n, "claimed": claimed, "verified": verified})})
    return result


def _tickets(counts: dict) -> dict[str, int]:
    return {"cited": counts["cited"], "verified": counts["dkim"], "dkim_verified": counts["dkim"],
            "attested": counts["attested"], "denied": counts["denied"]}


def _responses(cells: dict, folded: set) -> list[dict]:
    """Per exchange (folded as by_exchange is): tickets cited and how the exchange answered."""
    kept = sorted((k for k in cells if k not in folded), key=lambda k: (-cells[k]["n"], str(k)))
    result = [{"exchange": key, **answers_row({"reports": cells[key]["n"], **_tickets(cells[key])})}
              for key in kept]
    if folded:
        total = {field: sum(cells[key][field] for key in folded) for field in ("n", *TICKETS)}
        result.append({"other": True, **answers_row({"reports": total["n"], **_tickets(total)})})
    return result
