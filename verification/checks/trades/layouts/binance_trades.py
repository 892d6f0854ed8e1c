"""Binance spot trade history, current layout: assets written into the amounts ("0.5BTC")."""

from collections.abc import Iterable, Iterator
from decimal import Decimal

from verification.checks.trades.layout import Layout
from verification.checks.trades.layouts._common import side_fill, split_symbol
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import FEE_RE, Row, numberish


def parse(records: Iterable[Row]) -> Iterator[Fill]:
    for row in records:
        executed = row.text("Executed").upper().replace(" ", "")
        amount = row.text("Amount").upper().replace(" ", "")
        base, quote = _assets(row, row.required("Pair").upper(), executed, amount)
        amounts = (row.decimal("Executed", executed.removesuffix(base)),
                   row.decimal("Amount", amount.removesuffix(quote)))
        yield side_fill(row, row.time("Date(UTC)"), row.side("Side"), (base, quote), amounts,
                        dict([_fee(row, (base, quote))]))


def _assets(row: Row, pair: str, executed: str, amount: str) -> tuple[str, str]:
    """Split BTCUSDT (or 1INCHUSDT) where Executed ends with the base and Amount with the quote."""
    if "/" in pair:
        return split_symbol(row, "Pair", pair)
    for cut in range(1, len(pair)):
        base, quote = pair[:cut], pair[cut:]
        if (executed.endswith(base) and amount.endswith(quote) and numberish(executed[:-cut])
                and numberish(amount[:-len(quote)])):
            return row.asset("Pair", base), row.asset("Pair", quote)
    row.fail("Executed", f"{executed[:40]!r} and {amount[:40]!r} do not name the assets of {pair[:40]!r}")


def _fee(row: Row, assets: tuple[str, str]) -> tuple[str, Decimal]:
    text = row.text("Fee").upper().replace(" ", "")
    for asset in assets:
        if text.endswith(asset) and numberish(text[:-len(asset)]):
            return asset, row.decimal("Fee", text[:-len(asset)])
    if match := FEE_RE.fullmatch(text):
        return row.asset("Fee", match[2]), row.decimal("Fee", match[1])
    if row.decimal("Fee", text, blank=Decimal(0)) == 0:
        return "", Decimal(0)
    row.fail("Fee", f"a fee without its asset: {text[:40]!r}")


LAYOUT = Layout(
    name="binance_trades", exchange="Binance", title="Spot Trade History",
    header="Date(UTC),Pair,Side,Price,Executed,Amount,Fee", parse=parse, optional=frozenset({"Price"}),
    where="Orders > Spot Order > Trade History > Export (binance.com/en/my/orders/exchange/usertrade)",
    source="github.com/troyxmccall/cointracker-converters readme.md (Binance section)",
)
