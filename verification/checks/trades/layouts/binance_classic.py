"""Binance spot trade history as exported until 2022: market, type, amounts and fee coin in own columns."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import side_fill, split_symbol
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        pair = split_symbol(row, "Market")
        fee = row.decimal("Fee", blank=0)
        fees = {row.asset("Fee Coin"): fee} if fee else {}
        amounts = (row.decimal("Amount"), row.decimal("Total"))
        yield side_fill(row, row.time("Date(UTC)"), row.side("Type"), pair, amounts, fees)


LAYOUT = Layout(
    name="binance_classic_trades", exchange="Binance", title="Trade History (2017-2022 layout)",
    header="Date(UTC),Market,Type,Price,Amount,Total,Fee,Fee Coin", parse=parse,
    optional=frozenset({"Price"}),
    where="Orders > Spot Order > Trade History > Export Recent Trade History (CSV or XLSX)",
    source="github.com/everytrade-io/everytrade-plugins (Binance CsvHeader "
           "\"Date(UTC)\",\"Market\",\"Type\",...)",
)
