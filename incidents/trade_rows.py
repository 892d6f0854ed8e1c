"""What a reporter sees of their trade export: rows read as trades, rows skipped and why, the window.

Pure functions over the stored `export_parsed` result (its raw data, see
verification/checks/trades/checks.py), so the report page reads the same sentences its tests do.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from incidents.vocabulary import CheckName

SHOWN = 200  # rows listed on the page; the rest are counted

SKIP_REASONS = {
    "not_a_trade": _("not a trade"),
    "not_filled": _("an order that was not filled"),
    "not_spot": _("not a spot trade (futures, transfers)"),
    "order_detail": _("a fill of the order above, counted with it"),
    "not_one_pair": _("these rows moved more than two assets, so they make no single pair; their amounts "
                      "still count in the loss"),
}

# What to do about a file that was refused, by the reader's error code.
REFUSAL_ADVICE = {
    "encoding": _("Open the file in a spreadsheet and save it again as “CSV UTF-8”, then add it again."),
    "utf16": _("Open the file in a spreadsheet and save it again as “CSV UTF-8”, then add it again."),
    "xls": _("Save the workbook as XLSX or as “CSV UTF-8”, then add it again."),
    "unknown_layout": _("This is not one of the trade-history reports Lossproof reads. Download one of the "
                        "reports listed below from your exchange and add it as it is, without editing it."),
    "malformed_row": _("A row of the file could not be read. Download the report again from your exchange "
                       "rather than editing it, then add it again."),
    "csv": _("The file is cut short or not a well-formed CSV. Download the report again from your exchange, "
             "then add it again."),
    "too_large": _("The file is larger than Lossproof reads. Download only the incident's time window."),
    "rows": _("The file is larger than Lossproof reads. Download only the incident's time window."),
    "columns": _("The file has more columns than an exchange report. Download the report again from your "
                 "exchange rather than editing it."),
    "field": _("A cell of the file is far longer than an exchange writes. Download the report again from "
               "your exchange rather than editing it."),
    "zip": _("The workbook could not be opened safely. Download the report again, preferably as CSV."),
    "xlsx": _("The workbook could not be opened safely. Download the report again, preferably as CSV."),
}
DEFAULT_ADVICE = _("Download the trade history again from your exchange and add it as it is.")


@dataclass(frozen=True)
class TradeRow:
    rows: str  # "5" or "5-7" (a trade merged from several rows)
    time: str
    pair: str
    side: str
    in_window: bool


@dataclass(frozen=True)
class SkippedLine:
    rows: str
    reason: str
    detail: str


@dataclass
class ExportSummary:
    layout: str = ""
    trades: list[TradeRow] = field(default_factory=list)
    trades_total: int = 0
    in_window: int = 0
    skipped: list[SkippedLine] = field(default_factory=list)
    skipped_total: int = 0
    error: str = ""
    advice: str = ""


def export_summary(results) -> ExportSummary | None:
    """Summarise an export's stored `export_parsed` result for its owner; None for other evidence."""
    parsed = next((r for r in results if r.check_name == CheckName.EXPORT_PARSED), None)
    if parsed is None:
        return None
    raw = parsed.raw or {}
    if "error" in raw:
        return ExportSummary(error=raw["error"],
                             advice=str(REFUSAL_ADVICE.get(raw.get("error_code", ""), DEFAULT_ADVICE)))
    skipped = [*map(_skipped_row, raw.get("skipped_rows", [])), *map(_unpaired, raw.get("unpaired", []))]
    return ExportSummary(
        layout=raw.get("format", ""), trades=[_trade_row(t) for t in raw.get("trade_rows", [])[:SHOWN]],
        trades_total=raw.get("trades", 0), in_window=raw.get("trades_in_window", 0),
        skipped=sorted(skipped, key=lambda line: int(line.rows.split("-")[0]))[:SHOWN],
        skipped_total=raw.get("not_trades", 0) + raw.get("skipped", 0),
    )


def _span(rows: list[int], first: int) -> str:
    rows = rows or [first]
    return str(min(rows)) if len(set(rows)) == 1 else f"{min(rows)}-{max(rows)}"


def _trade_row(item: dict) -> TradeRow:
    return TradeRow(_span(item.get("rows", []), item["row"]), item["time"], item["pair"], item["side"],
                    item.get("in_window", False))


def _skipped_row(item: dict) -> SkippedLine:
    return SkippedLine(str(item["row"]), str(SKIP_REASONS.get(item["reason"], item["reason"])),
                       item.get("detail", ""))


def _unpaired(item: dict) -> SkippedLine:
    legs = ", ".join(f"{amount} {asset}" for asset, amount in item.get("legs", {}).items())
    return SkippedLine(_span(item.get("rows", []), item["row"]), str(SKIP_REASONS["not_one_pair"]), legs)
