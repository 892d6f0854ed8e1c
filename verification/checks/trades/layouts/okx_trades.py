"""OKX trade history: one row per leg (Buy: what came in, Sell: what went out), legs share an id."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade
from verification.checks.trades.model import Legs, SkippedRow
from verification.checks.trades.rows import Row

SIGNS = {"buy": 1, "sell": -1}


def parse(records: Iterable[Row]) -> Iterator[Legs | SkippedRow]:
    groups: dict[str, Legs] = {}
    for row in records:
        kind = row.text("Type").lower()
        if row.text("Trade Type").lower() != "spot" or kind not in SIGNS:
            yield not_a_trade(row, f"{row.text('Trade Type')} {row.text('Type')}".strip(), reason="not_spot")
            continue
        legs = groups.setdefault(row.required("id"), Legs(row.number, row.time("Time")))
        asset = row.asset("Unit")
        legs.add(row.number, asset, SIGNS[kind] * abs(row.decimal("Amount")), row.decimal("Fee", blank=0))
    yield from groups.values()


LAYOUT = Layout(
    name="okx_trades", exchange="OKX", title="Trade history (trading account bills)",
    header="id,Order id,Time,Trade Type,Instrument,Type,Amount,Unit,PL,Fee,Position Change,Position Balance,"
           "Balance Change,Balance,Unit",
    parse=parse, optional=frozenset({"Order id", "Instrument", "PL", "Position Change", "Position Balance",
                                     "Balance Change", "Balance"}),
    where="Assets > Order center > Trade history (or Bills) > Download (CSV)",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/okx.py (OKX Trades)",
)
