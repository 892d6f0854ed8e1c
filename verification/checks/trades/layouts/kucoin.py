"""KuCoin's times: exports before 2023 write Singapore/Beijing time (UTC+8) without saying so."""

from datetime import timedelta, timezone

from verification.checks.trades.layouts._common import side_fill, split_symbol
from verification.checks.trades.model import Fill
from verification.checks.trades.rows import Row

KUCOIN_ZONE = timezone(timedelta(hours=8))


def symbol_fill(row: Row, *, time: str, symbol: str, side: str, amounts: tuple[str, str],
                fee: str, fee_asset: str | None, order: str = "") -> Fill:
    """Read one KuCoin row; without a fee currency column the fee is in the quote."""
    base, quote = split_symbol(row, symbol)
    fee_in = row.asset(fee_asset) if fee_asset and row.text(fee_asset) else quote
    return side_fill(row, row.time(time), row.side(side), (base, quote),
                     (row.decimal(amounts[0]), row.decimal(amounts[1])),
                     {fee_in: row.decimal(fee, blank=0)}, row.text(order) if order else "")
