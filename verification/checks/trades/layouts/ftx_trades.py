"""FTX trades (fills) export, in its two spellings; futures markets (BTC-PERP) are not spot trades."""

from collections.abc import Callable, Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import not_a_trade, side_fill, split_symbol
from verification.checks.trades.model import Fill, SkippedRow
from verification.checks.trades.rows import Row

ROLES = ("time", "market", "side", "size", "total", "fee", "fee_asset")


def parser(*columns: str) -> Callable[[Iterable[Row]], Iterator[Fill | SkippedRow]]:
    """Build the parser of one spelling, given its column names in ROLES order."""
    c = dict(zip(ROLES, columns, strict=True))

    def parse(records: Iterable[Row]) -> Iterator[Fill | SkippedRow]:
        for row in records:
            if "/" not in row.text(c["market"]):
                yield not_a_trade(row, row.text(c["market"]), reason="not_spot")
                continue
            fee = row.decimal(c["fee"], blank=0)
            fees = {row.asset(c["fee_asset"]): fee} if fee > 0 else {}  # a negative fee is a rebate
            yield side_fill(row, row.time(c["time"]), row.side(c["side"]), split_symbol(row, c["market"]),
                            (row.decimal(c["size"]), row.decimal(c["total"])), fees)
    return parse


WHERE = "Wallet > Trades > Download (ftx.com, until November 2022; now from the FTX claims portal)"
SOURCE = "github.com/BittyTax/BittyTax src/bittytax/conv/parsers/ftx.py (FTX Trades)"
LAYOUT = Layout(
    name="ftx_trades", exchange="FTX", title="Trades",
    header="ID,Time,Market,Side,Order Type,Size,Price,Total,Fee,Fee Currency",
    parse=parser("Time", "Market", "Side", "Size", "Total", "Fee", "Fee Currency"),
    optional=frozenset({"ID", "Order Type", "Price"}), where=WHERE, source=SOURCE,
)
LAYOUT_API = Layout(
    name="ftx_trades_api", exchange="FTX", title="Trades (API field names)",
    header="id,time,market,side,type,size,price,total,fee,feeCurrency",
    parse=parser("time", "market", "side", "size", "total", "fee", "feeCurrency"),
    optional=frozenset({"id", "type", "price"}), where=WHERE, source=SOURCE,
)
