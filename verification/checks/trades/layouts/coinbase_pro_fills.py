"""Coinbase Pro fills report: one row per fill; the total is net of the fee, negative when paid."""

from collections.abc import Iterable, Iterator

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import side_fill, split_symbol
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        base, quote = split_symbol(row, "product")
        side, fee = row.side("side"), abs(row.decimal("fee"))
        total = abs(row.decimal("total"))
        # A buy's total includes the fee it paid; a sell's total is what remained after it.
        gross = total - fee if side == "buy" else total + fee
        yield side_fill(row, row.time("created at"), side, (base, quote), (row.decimal("size"), gross),
                        {row.asset("price/fee/total unit"): fee})


LAYOUT = Layout(
    name="coinbase_pro_fills", exchange="Coinbase Pro", title="Fills report",
    header="portfolio,trade id,product,side,created at,size,size unit,price,fee,total,price/fee/total unit",
    parse=parse, optional=frozenset({"portfolio", "trade id", "size unit", "price"}),
    where="Coinbase Pro: Portfolios > Statements > Generate > Fills (CSV); now under coinbase.com "
          "Profile > Statements > Coinbase Pro",
    source="github.com/BittyTax/BittyTax src/bittytax/conv/parsers/coinbasepro.py",
)
