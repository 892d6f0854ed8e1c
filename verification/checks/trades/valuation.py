"""Value the window's trades and net them into one loss.

The loss over the incident window is net: the USD value of everything the trades gave (every fee
leg included) minus the value of everything they received, each leg at the daily price of the
trade's UTC date, floored at zero. Netting is what makes a chain of forced trades (BTC -> pumped
coin -> USDT) count once. Ledger groups that do not pair into one trade are netted the same way,
leg by leg. Anything with a leg unpriced is listed as unpriced and left out of both sums, never
valued at zero. Pure functions: nothing here reads the network or the database.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, localcontext

from verification.checks.common import CENTS
from verification.checks.trades.model import Skipped, Trade

STABLE = ("USD", "USDT", "USDC", "BUSD", "DAI")
Prices = Mapping[tuple[str, date], Decimal]


@dataclass(frozen=True)
class TradeValue:
    trade: Trade | Skipped
    given_usd: Decimal  # the leg(s) given plus every fee
    received_usd: Decimal
    fee_usd: Decimal
    loss_usd: Decimal  # given - received; negative is a gain
    prices: dict[str, Decimal]  # symbol -> USD price used


@dataclass(frozen=True)
class Unpriced:
    trade: Trade | Skipped
    reason: str  # price_missing
    missing: list[str]  # symbols without a price on the trade's date


@dataclass
class TradeLoss:
    window_start: datetime
    window_end: datetime
    trades: list[Trade]  # every trade inside the window
    valued: list[TradeValue]  # trades first, then unpaired groups
    unpriced: list[Unpriced]
    given_usd: Decimal
    received_usd: Decimal
    loss_usd: Decimal | None  # max(given - received, 0); None when nothing could be valued
    groups: list[Skipped] = field(default_factory=list)  # unpaired ledger groups inside the window


def trade_loss(
    *, trades: Iterable[Trade], window_start: datetime, window_end: datetime, prices: Prices,
    stable: Iterable[str] = STABLE, unpaired: Iterable[Skipped] = (),
) -> TradeLoss:
    """Value the trades and unpaired groups inside the window (bounds included) and net them."""
    inside = [trade for trade in trades if window_start <= trade.time <= window_end]
    groups = [group for group in unpaired if window_start <= group.time <= window_end]
    valued, unpriced, stable_set = [], [], frozenset(stable)
    with localcontext() as context:
        context.prec = 60  # amount (up to 1e18) times price must not round before cents
        for item in [*inside, *groups]:
            result = _value(item, prices, stable_set)
            (valued if isinstance(result, TradeValue) else unpriced).append(result)
        given = sum((value.given_usd for value in valued), Decimal("0.00"))
        received = sum((value.received_usd for value in valued), Decimal("0.00"))
    loss = max(given - received, Decimal("0.00")) if valued else None
    return TradeLoss(window_start, window_end, inside, valued, unpriced, given, received, loss, groups)


def legs_of(item: Trade | Skipped) -> tuple[list[tuple[str, Decimal]], list[tuple[str, Decimal]], list]:
    """Return what a trade (or unpaired group) gave, received and paid in fees."""
    if isinstance(item, Skipped):
        given = [(asset, -amount) for asset, amount in item.legs.items() if amount < 0]
        received = [(asset, amount) for asset, amount in item.legs.items() if amount > 0]
        return given, received, [(asset, amount) for asset, amount in item.fees.items() if amount]
    base, quote = (item.base_asset, item.base_amount), (item.quote_asset, item.quote_amount)
    given, received = ([quote], [base]) if item.side == "buy" else ([base], [quote])
    return given, received, list(item.fees)


def _value(item: Trade | Skipped, prices: Prices, stable: frozenset[str]) -> TradeValue | Unpriced:
    """Value every leg and fee at the day's price; any leg without a price leaves the item unpriced."""
    given, received, fees = legs_of(item)
    day = item.time.date()
    found = {asset: usd_price(asset, day, prices, stable) for asset, _ in [*given, *received, *fees]}
    missing = sorted(asset for asset, price in found.items() if price is None)
    if missing:
        return Unpriced(item, "price_missing", missing)

    def usd(legs) -> Decimal:
        return sum(((amount * found[asset]).quantize(CENTS) for asset, amount in legs), Decimal("0.00"))

    fee = usd(fees)
    return TradeValue(item, usd(given) + fee, usd(received), fee, usd(given) + fee - usd(received), found)


def usd_price(
    symbol: str, day: date, prices: Prices, stable: frozenset[str] = frozenset(STABLE)
) -> Decimal | None:
    """The imported price first; a stablecoin (or USD) without one counts as one dollar."""
    price = prices.get((symbol, day))
    if price is None and symbol in stable:
        return Decimal(1)
    return price
