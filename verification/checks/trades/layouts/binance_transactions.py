"""Binance transaction history (the wallet statement): one row per balance change, a trade's in one second."""

from collections.abc import Iterable, Iterator
from datetime import datetime

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade
from verification.checks.trades.model import Legs, SkippedRow
from verification.checks.trades.rows import Row

TRADE_OPERATIONS = frozenset({
    "buy", "sell", "transaction related", "transaction buy", "transaction spend", "transaction revenue",
    "transaction sold", "binance convert",
})
FEE_OPERATIONS = frozenset({"fee", "transaction fee"})


def parse(records: Iterable[Row]) -> Iterator[Legs | SkippedRow]:
    """Group the trade rows of one UTC_Time into one trade; deposits, withdrawals etc. are not trades."""
    groups: dict[datetime, Legs] = {}
    for row in records:
        operation = row.text("Operation").lower()
        if operation not in TRADE_OPERATIONS | FEE_OPERATIONS:
            yield not_a_trade(row, row.text("Operation"))
            continue
        time = row.time("UTC_Time")
        legs = groups.setdefault(time, Legs(row.number, time))
        coin, change = row.asset("Coin"), row.decimal("Change")
        if operation in FEE_OPERATIONS:
            legs.add(row.number, coin, 0, change)
        else:
            legs.add(row.number, coin, change)
    yield from groups.values()


LAYOUT = Layout(
    name="binance_transactions", exchange="Binance", title="Transaction History (wallet statement)",
    header="User_ID,UTC_Time,Account,Operation,Coin,Change,Remark", parse=parse,
    optional=frozenset({"User_ID", "Account", "Remark"}),
    where="Wallet > Transaction History > Generate all statements",
    source="github.com/everytrade-io/everytrade-plugins (Binance CsvHeader \"User_ID\",\"UTC_Time\",...)",
)
