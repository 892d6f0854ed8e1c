"""The attack signature and the two checks of a trade export: export_parsed and trade_loss_consistent.

An export is a file its owner can edit, so agreeing with its own claim proves nothing. It proves a
loss only where (docs/methodology.md, "Trade-history exports"):
- its in-window trades match the incident's attack signature built from OTHER reporters' exports
  (pairs they traded in the same UTC hour), and
- its prices are plausible: every valued trade lies within the tolerance of that day's price (the
  Price table), except that a trade on a signature pair may instead lie within the tolerance of
  the prices the other reporters' exports show for that pair and hour (a pump moves a pair far
  from its daily price by design).
An export that only agrees with its claim is `inconclusive` (`uncorroborated`): it documents (T1).
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from incidents.vocabulary import CheckName
from verification.checks.common import CheckOutcome
from verification.checks.trades.model import ParsedExport, Skipped, Trade, TradeFileError
from verification.checks.trades.valuation import TradeLoss, TradeValue, legs_of
from verification.models import Outcome

MAX_LISTED = 1_000  # rows kept in a check's raw data; matches are always all kept


@dataclass(frozen=True)
class SignatureEntry:
    pair: str
    hour: datetime
    victims: int
    low: Decimal | None = None  # lowest unit price the victims' exports show in that pair and hour
    high: Decimal | None = None


@dataclass(frozen=True)
class SignatureMatch:
    pair: str
    hour: datetime
    row: int
    time: datetime
    victims: int


@dataclass
class TradeFindings:
    outcomes: list[CheckOutcome]
    proven: bool
    matches: list[SignatureMatch]
    verified_loss_usd: Decimal | None = None  # the window's net loss, only when proven


def trade_hour(moment: datetime) -> datetime:
    """Return the UTC hour a trade falls in (the unit of the attack signature)."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def attack_signature(
    victim_trades: Mapping[object, Iterable[Trade]], *, min_victims: int = 3
) -> list[SignatureEntry]:
    """Find the pairs that at least min_victims distinct victims traded within the same UTC hour."""
    victims: dict[tuple[str, datetime], set] = defaultdict(set)
    prices: dict[tuple[str, datetime], list[Decimal]] = defaultdict(list)
    for victim, trades in victim_trades.items():
        for trade in trades:
            victims[(trade.pair, trade_hour(trade.time))].add(victim)
            prices[(trade.pair, trade_hour(trade.time))].append(trade.unit_price)
    entries = [SignatureEntry(pair, hour, len(who), min(prices[pair, hour]), max(prices[pair, hour]))
               for (pair, hour), who in victims.items() if len(who) >= min_victims]
    return sorted(entries, key=lambda entry: (entry.hour, entry.pair))


def signature_keys(trades: Iterable[Trade]) -> dict[str, list[str]]:
    """Return this export's pair-hours with the range of its unit prices, as stored for other reports."""
    seen: dict[str, list[Decimal]] = defaultdict(list)
    for trade in trades:
        seen[f"{trade.pair}|{trade_hour(trade.time).isoformat()}"].append(trade.unit_price)
    return {key: [str(min(prices)), str(max(prices))] for key, prices in sorted(seen.items())}


def trade_key(trade: Trade) -> str:
    """Identify one trade across a report's files (a ledger and a trades file of the same trades)."""
    second = trade.time.replace(microsecond=0).isoformat()
    return f"{trade.pair}|{second}|{trade.side}|{trade.base_amount.normalize():f}"


def net_loss_excluding(loss: TradeLoss, counted: set[str]) -> tuple[Decimal, int]:
    """Net the window again without the trades another file of the same report already counts."""
    kept = [v for v in loss.valued if not (isinstance(v.trade, Trade) and trade_key(v.trade) in counted)]
    given = sum((value.given_usd for value in kept), Decimal("0.00"))
    received = sum((value.received_usd for value in kept), Decimal("0.00"))
    return max(given - received, Decimal("0.00")), len(loss.valued) - len(kept)


def trade_checks(
    *, export: ParsedExport, loss: TradeLoss, signature: Iterable[SignatureEntry],
    claimed_amount_usd: Decimal | None, tolerance: Decimal,
) -> TradeFindings:
    """Run export_parsed and trade_loss_consistent; `signature` must come from other reporters only."""
    matches = _signature_matches(loss.trades, signature)
    entries = {(entry.pair, entry.hour): entry for entry in signature}
    consistent = _trade_loss_consistent(loss, matches, entries, claimed_amount_usd, tolerance)
    proven = consistent.outcome == Outcome.PASS
    return TradeFindings([_export_parsed(export, loss), consistent], proven, matches,
                         loss.loss_usd if proven else None)


def unreadable_export_checks(*, filename: str, error: TradeFileError) -> TradeFindings:
    """Record an export that could not be read: nothing about the loss can be judged."""
    raw = {"filename": filename, "error": str(error), "error_code": getattr(error, "code", "unreadable")}
    return TradeFindings([
        CheckOutcome(CheckName.EXPORT_PARSED, Outcome.FAIL, ["export_unreadable"], raw),
        CheckOutcome(CheckName.TRADE_LOSS_CONSISTENT, Outcome.INCONCLUSIVE, ["export_unreadable"], {}),
    ], False, [])


def _signature_matches(trades: Iterable[Trade], signature: Iterable[SignatureEntry]) -> list[SignatureMatch]:
    entries = {(entry.pair, entry.hour): entry.victims for entry in signature}
    return [SignatureMatch(trade.pair, trade_hour(trade.time), trade.row, trade.time, entries[key])
            for trade in trades if (key := (trade.pair, trade_hour(trade.time))) in entries]


def off_market(loss: TradeLoss, entries: Mapping[tuple, SignatureEntry], tolerance: Decimal) -> list[dict]:
    """List the in-window trades whose price is far from the others' (signature pairs) or the day's."""
    found = []
    for value in loss.valued:
        if not isinstance(value.trade, Trade):
            continue
        entry = entries.get((value.trade.pair, trade_hour(value.trade.time)))
        problem = _day_problem(value, tolerance)
        if entry and problem:  # a pump trade far from the daily price is fine at the other victims' price
            problem = _peer_problem(value.trade, entry, tolerance)
        if problem:
            found.append({"row": value.trade.row, "pair": value.trade.pair, **problem})
    return found


def _peer_problem(trade: Trade, entry: SignatureEntry, tolerance: Decimal) -> dict | None:
    if entry.low is None or entry.high is None:
        return None
    low, high = entry.low * (1 - tolerance), entry.high * (1 + tolerance)
    if low <= trade.unit_price <= high:
        return None
    return {"unit_price": str(trade.unit_price), "expected": [str(low), str(high)],
            "against": "other_exports"}


def _day_problem(value: TradeValue, tolerance: Decimal) -> dict | None:
    """Compare the two legs at the day's prices: a fair trade gives about what it gets."""
    given, received, _ = legs_of(value.trade)
    given_usd = sum((amount * value.prices[asset] for asset, amount in given), Decimal(0))
    received_usd = sum((amount * value.prices[asset] for asset, amount in received), Decimal(0))
    larger = max(given_usd, received_usd)
    if not larger or abs(given_usd - received_usd) <= larger * tolerance:
        return None
    return {"given_usd": str(round(given_usd, 2)), "received_usd": str(round(received_usd, 2)),
            "against": "day_price"}


def _trade_loss_consistent(
    loss: TradeLoss, matches: list[SignatureMatch], entries: Mapping[tuple, SignatureEntry],
    claimed: Decimal | None, tolerance: Decimal,
) -> CheckOutcome:
    """Pass a priced, positive loss at plausible prices that fits the signature other exports built."""
    raw = _loss_raw(loss, matches, claimed, tolerance)
    name = CheckName.TRADE_LOSS_CONSISTENT
    if not loss.trades and not loss.groups:
        return CheckOutcome(name, Outcome.FAIL, ["no_trades_in_window"], raw)
    if loss.loss_usd is None:
        return CheckOutcome(name, Outcome.INCONCLUSIVE, ["price_missing"], raw)
    if loss.loss_usd == 0:
        return CheckOutcome(name, Outcome.FAIL, ["no_loss"], raw)
    raw["claim_fits"] = claimed is not None and abs(claimed - loss.loss_usd) <= loss.loss_usd * tolerance
    raw["off_market"] = off_market(loss, entries, tolerance)[:MAX_LISTED]
    if not matches:  # a pump trade is judged against other exports' prices: none yet, no judgement
        return CheckOutcome(name, Outcome.INCONCLUSIVE, ["uncorroborated"], raw)
    if raw["off_market"]:
        return CheckOutcome(name, Outcome.FAIL, ["price_off_market"], raw)
    raw["grounds"] = ["attack_signature"]
    return CheckOutcome(name, Outcome.PASS, [], raw)


# ---- Raw data for the stored check results (JSON: Decimals and times as strings) ---------------


def _export_parsed(export: ParsedExport, loss: TradeLoss) -> CheckOutcome:
    def inside(moment: datetime) -> bool:
        return loss.window_start <= moment <= loss.window_end

    raw = {"filename": export.filename, "format": export.format, "rows": export.rows,
           "trades": len(export.trades), "trades_in_window": len(loss.trades),
           "skipped": len(export.skipped), "not_trades": len(export.skipped_rows),
           "skipped_rows": [_skipped_row_raw(s) for s in export.skipped_rows[:MAX_LISTED]],
           "unpaired": [{**_group_raw(g), "in_window": inside(g.time)} for g in export.skipped[:MAX_LISTED]],
           "trade_rows": [{**_trade_raw(t), "in_window": inside(t.time)} for t in export.trades[:MAX_LISTED]]}
    return CheckOutcome(CheckName.EXPORT_PARSED, Outcome.PASS, [], raw)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _loss_raw(
    loss: TradeLoss, matches: list[SignatureMatch], claimed: Decimal | None, tolerance: Decimal
) -> dict:
    return {
        "window_start": loss.window_start.isoformat(), "window_end": loss.window_end.isoformat(),
        "loss_usd": _money(loss.loss_usd), "given_usd": str(loss.given_usd),
        "received_usd": str(loss.received_usd),
        "claimed_usd": _money(claimed), "tolerance": str(tolerance), "grounds": [],
        "matches": [{"pair": m.pair, "hour": m.hour.isoformat(), "row": m.row, "time": m.time.isoformat(),
                     "victims": m.victims} for m in matches],
        "trades_valued": len(loss.valued), "trades_unpriced": len(loss.unpriced),
        "valued": [_value_raw(value) for value in loss.valued[:MAX_LISTED]],
        "unpriced": [{**_item_raw(u.trade), "reason": u.reason, "missing": u.missing}
                     for u in loss.unpriced[:MAX_LISTED]],
    }


def _item_raw(item: Trade | Skipped) -> dict:
    return _trade_raw(item) if isinstance(item, Trade) else _group_raw(item)


def _trade_raw(trade: Trade) -> dict:
    return {"row": trade.row, "rows": list(trade.rows), "time": trade.time.isoformat(), "pair": trade.pair,
            "side": trade.side, "base_amount": str(trade.base_amount),
            "quote_amount": str(trade.quote_amount),
            "fees": {asset: str(amount) for asset, amount in trade.fees}}


def _value_raw(value: TradeValue) -> dict:
    return {**_item_raw(value.trade), "given_usd": str(value.given_usd),
            "received_usd": str(value.received_usd), "fee_usd": str(value.fee_usd),
            "loss_usd": str(value.loss_usd),
            "prices": {symbol: str(price) for symbol, price in value.prices.items()}}


def _group_raw(group: Skipped) -> dict:
    return {"row": group.row, "rows": list(group.rows), "time": group.time.isoformat(),
            "reason": group.reason,
            "legs": {asset: str(amount) for asset, amount in group.legs.items()},
            "fees": {asset: str(amount) for asset, amount in group.fees.items()}}


def _skipped_row_raw(skipped) -> dict:
    return {"row": skipped.row, "reason": skipped.reason, "detail": skipped.detail}
