"""The dashboard's charts: each one a table of numbers taken from the stats, drawn as SVG on the server.

Charts are Django templates (templates/dashboards/chart.svg) rather than a plotting library: the
bars are simple, the text goes through the same translation and escaping as every page, and no
script runs in the reader's browser. PNG copies are rasterised from that same SVG with
vl-convert-python's bundled resvg (a self-contained wheel: no system Cairo, no browser).
"""

import csv
import io
import json
import textwrap
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as lazy

WIDTH, LABEL_WIDTH, BAR_WIDTH = 720, 210, 380
BAR_HEIGHT, ROW_GAP, TOP, BOTTOM = 14, 12, 70, 16
COLOURS = {"claimed_loss_usd": "#5b6472", "verified_loss_usd": "#1d4ed8", "reports": "#1d4ed8",
           "cited": "#5b6472", "dkim_verified": "#1d4ed8", "attested": "#047857", "denied": "#b91c1c"}


@dataclass(frozen=True)
class ChartSpec:
    """One chart: where its rows come from, which columns its table has, which it draws as bars."""

    slug: str
    title: str
    description: str
    source: str  # the stats key its rows come from
    keys: tuple[str, ...]  # the columns naming each row
    values: tuple[str, ...]  # the numeric columns, in table order
    series: tuple[str, ...]  # the values drawn as bars

    @property
    def folds(self) -> bool:
        return self.source in FOLDING


FOLDING = ("by_exchange", "by_asset", "by_day", "attacker_addresses", "exchange_responses")
MONEY = ("reports", "claimed_loss_usd", "verified_loss_usd")
CHARTS = {spec.slug: spec for spec in [
    ChartSpec("losses-over-time", lazy("Losses over time"),
              lazy("Claimed and verified loss by the UTC day of each report's earliest proven transfer."),
              "by_day", ("day",), MONEY, ("claimed_loss_usd", "verified_loss_usd")),
    ChartSpec("by-exchange", lazy("Losses by exchange"),
              lazy("Claimed and verified loss of the reports naming each exchange."),
              "by_exchange", ("exchange",), MONEY, ("claimed_loss_usd", "verified_loss_usd")),
    ChartSpec("by-asset", lazy("Losses by asset"),
              lazy("Claimed and verified loss by the asset of each report's largest claim."),
              "by_asset", ("asset",), MONEY, ("claimed_loss_usd", "verified_loss_usd")),
    ChartSpec("attacker-addresses", lazy("Attacker addresses"),
              lazy("Verified inflow to each attacker address from the reports' proven transfers."),
              "attacker_addresses", ("chain", "address"), MONEY, ("verified_loss_usd",)),
    ChartSpec("by-tier", lazy("Reports by tier"),
              lazy("How many reports reached each tier of proof."), "by_tier", ("tier",), ("reports",),
              ("reports",)),
    ChartSpec("by-status", lazy("Reports by status"),
              lazy("Where each report stands in review, from submitted to a moderator's decision."),
              "by_status", ("status",), ("reports",), ("reports",)),
    ChartSpec("verification", lazy("How was this verified"),
              lazy("Reports citing a support ticket and how it was checked, police reports and bound "
                   "transfers."),
              "verification", ("measure",), ("reports",), ("reports",)),
    ChartSpec("exchange-responses", lazy("Exchange response tracker"),
              lazy("Per exchange: tickets cited, DKIM-verified mails, and the liaison's attestations and "
                   "denials."),
              "exchange_responses", ("exchange",), ("reports", "cited", "dkim_verified", "attested", "denied",
                                                    "answered_share"),
              ("cited", "dkim_verified", "attested", "denied")),
    ChartSpec("funnel", lazy("From the old sheet to a decision"),
              lazy("Rows of the imported sheet: imported, checked, loss proven, decided verified."),
              "funnel", ("stage",), ("reports",), ("reports",)),
]}

VERIFICATION_MEASURES = ("tickets_cited", "dkim_verified", "attested", "denied", "police_reports",
                         "bound_reports", "contested_reports")


def chart_rows(spec: ChartSpec, stats: dict) -> list[dict]:
    """Return the chart's rows: exactly the numbers of its table, CSV and JSON."""
    if spec.source in ("by_tier", "by_status", "funnel"):
        return [{spec.keys[0]: key, "reports": count} for key, count in stats[spec.source].items()]
    if spec.source == "verification":
        counts = {**{f"tickets_{k}" if k == "cited" else k: v for k, v in stats["tickets"].items()},
                  "police_reports": stats["police_reports"], "bound_reports": stats["bound_reports"],
                  "contested_reports": stats["contested_reports"]}
        return [{"measure": name, "reports": counts[name]} for name in VERIFICATION_MEASURES]
    return [{**{key: row.get(key) for key in spec.keys}, **{v: row[v] for v in spec.values},
             "other": bool(row.get("other"))} for row in stats[spec.source]]


def columns(spec: ChartSpec) -> list[str]:
    return [*spec.keys, *spec.values, *(["other"] if spec.folds else [])]


def chart_csv(spec: ChartSpec, rows: list[dict]) -> str:
    """Return the rows as CSV (other rows say so in the last column, their key cells empty)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns(spec))
    for row in rows:
        writer.writerow([_csv_cell(row.get(name)) for name in columns(spec)])
    return out.getvalue()


def _csv_cell(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def chart_json(spec: ChartSpec, rows: list[dict], meta: dict) -> str:
    """Return the rows as JSON, with what a reader needs to cite them."""
    return json.dumps({"chart": spec.slug, **meta, "columns": columns(spec), "rows": rows}, indent=1)


def row_label(spec: ChartSpec, row: dict) -> str:
    """Return the words naming a row on the chart and in its table."""
    if row.get("other"):
        return _("Other (groups under 5 reports)")
    if spec.source == "attacker_addresses":
        address = row["address"] or ""
        return f"{address[:8]}…{address[-6:]}" if len(address) > 16 else address
    key = row.get(spec.keys[0])
    return str(LABELS.get(key, key)) if key is not None else _("Not stated")


LABELS = {"tickets_cited": lazy("Cite a support ticket"), "dkim_verified": lazy("DKIM-verified ticket mail"),
          "attested": lazy("Ticket attested by the exchange"),
          "denied": lazy("Ticket denied by the exchange"),
          "police_reports": lazy("Cite a police report"), "bound_reports": lazy("Bound transfer"),
          "contested_reports": lazy("Contested transfer"), "imported": lazy("Imported"),
          "checked": lazy("Checked"), "loss_proven": lazy("Loss proven (T2 or above)"),
          "decided_verified": lazy("Decided verified"), "submitted": lazy("Submitted"),
          "checking": lazy("Checking"), "needs_review": lazy("Needs review"),
          "needs_info": lazy("Needs information"), "verified": lazy("Verified"),
          "partially_verified": lazy("Partially verified"), "rejected": lazy("Rejected")}
SERIES_LABELS = {"reports": lazy("Reports"), "claimed_loss_usd": lazy("Claimed (USD)"),
                 "verified_loss_usd": lazy("Verified (USD)"), "cited": lazy("Tickets cited"),
                 "dkim_verified": lazy("DKIM-verified"), "attested": lazy("Attested"),
                 "denied": lazy("Denied"), "answered_share": lazy("Share answered")}


def chart_svg(spec: ChartSpec, rows: list[dict], *, cite: str) -> str:
    """Draw the chart as a standalone SVG with its title, legend, bars, values and citation."""
    peak = max((_number(row[s]) for row in rows for s in spec.series), default=Decimal(0)) or Decimal(1)
    step = BAR_HEIGHT * len(spec.series) + ROW_GAP
    drawn = [_row_layout(spec, row, TOP + i * step, peak) for i, row in enumerate(rows)]
    lines = textwrap.wrap(cite, 120)  # the manifest's sha256 does not fit on one line
    height = TOP + max(len(rows), 1) * step + BOTTOM + 14 * len(lines)
    legend = [{"x": 12 + i * 170, "colour": COLOURS[s], "label": SERIES_LABELS[s]}
              for i, s in enumerate(spec.series)]
    return render_to_string("dashboards/chart.svg", {
        "spec": spec, "rows": drawn, "legend": legend, "width": WIDTH, "height": height,
        "cite": [{"y": height - 14 * (len(lines) - n), "text": text} for n, text in enumerate(lines)],
        "empty": not rows, "label_x": LABEL_WIDTH - 8})


def _row_layout(spec: ChartSpec, row: dict, top: int, peak: Decimal) -> dict:
    bars = []
    for index, series in enumerate(spec.series):
        value = _number(row[series])
        width = int(BAR_WIDTH * value / peak) if value > 0 else 0
        bars.append({"y": top + index * BAR_HEIGHT, "width": max(width, 1 if value > 0 else 0),
                     "colour": COLOURS[series], "text": row[series], "text_x": LABEL_WIDTH + width + 6,
                     "label": SERIES_LABELS[series]})
    return {"label": row_label(spec, row), "label_y": top + BAR_HEIGHT - 3, "bars": bars}


def _number(value) -> Decimal:
    return Decimal(str(value)) if value not in (None, "") else Decimal(0)


def chart_png(svg: str) -> bytes:
    """Rasterise a chart's SVG at twice its size (for slides and print)."""
    import vl_convert

    return vl_convert.svg_to_png(svg, scale=2.0)


def release_cite(release, incident) -> str:
    """Return the "cite this" line of a release, in the active language."""
    return _("Lossproof, %(title)s (%(slug)s), release %(n)s of %(date)s, manifest sha256 %(sha)s") % {
        "title": incident.title, "slug": incident.slug, "n": release.number,
        "date": release.stats.get("as_of", ""), "sha": release.manifest_sha256}
