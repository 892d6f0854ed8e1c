"""The vocabulary every check shares, and the transfer rules both chain families apply.

- ``CheckOutcome`` is one check's outcome with its reasons and the raw data it judged;
- ``ClaimInput``, ``AssetInfo`` and ``IncidentContext`` are what a transfer is judged against;
  ``TransferFindings`` is what the transfer checks return for one claim;
- the rules written once for EVM (``transfers.py``) and Bitcoin (``bitcoin.py``) transfers: a
  provider error, the incident window, when re-checks can stop, the sender, the recipient, the
  amount within tolerance and the USD value at the block's date.

Pure functions: nothing here reads the network or the database.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from incidents.vocabulary import CheckName
from verification.clients.base import TxData
from verification.models import Outcome

CENTS = Decimal("0.01")
Prices = Mapping[tuple[str, date], Decimal]  # (symbol, UTC date) -> USD price


@dataclass(frozen=True)
class AssetInfo:
    symbol: str
    decimals: int
    contract: str | None  # None for the chain's native coin


@dataclass
class IncidentContext:
    """The reference data a transfer is judged against, for one incident."""

    window_start: datetime
    window_end: datetime
    attackers: set[tuple[str, str]]  # (chain, address)
    safelisted: set[tuple[str, str]]
    assets: list[tuple[str, AssetInfo]]  # (chain, asset)
    confirmations: dict[str, int | None]  # chain -> required depth (None: finalized tag)
    amount_tolerance: Decimal = Decimal("0.001")

    def asset_by_symbol(self, chain: str, symbol: str) -> AssetInfo | None:
        wanted = symbol.strip().casefold()
        return next((a for c, a in self.assets if c == chain and a.symbol.casefold() == wanted), None)

    def asset_by_contract(self, chain: str, contract: str | None) -> AssetInfo | None:
        return next((a for c, a in self.assets if c == chain and a.contract == contract), None)


@dataclass(frozen=True)
class ClaimInput:
    chain: str
    tx_hash: str
    log_index: int | None
    asset: str
    amount: Decimal | None
    from_address: str


@dataclass
class CheckOutcome:
    name: str
    outcome: str
    reasons: list[str] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


@dataclass
class TransferFindings:
    """Every check's outcome for one claim, and the facts the claim row keeps."""

    outcomes: list[CheckOutcome]
    block_number: int | None = None
    block_time: datetime | None = None
    usd_value: Decimal | None = None
    settled: bool = False
    sender: str | None = None  # who sent the value on-chain: whose signature binds the transfer


# --- rules both transfer families apply ----------------------------------------------------------


def provider_error(data: TxData) -> CheckOutcome | None:
    """Return the tx_exists error when the endpoints failed or disagreed about the transaction."""
    if not data.error:
        return None
    reason = "providers_disagree" if data.error.startswith("providers_disagree") else "provider_error"
    return CheckOutcome(CheckName.TX_EXISTS, Outcome.ERROR, [reason], {"error": data.error})


def block_time(data: TxData) -> datetime:
    """Return the UTC time of the block the transaction is mined in."""
    return datetime.fromtimestamp(data.block["timestamp"], tz=UTC)


def deep_enough_to_settle(depth: int, required: int) -> bool:
    """Say whether re-checks can stop at this depth.

    Twice the required depth before re-checks stop: a reorg shallower than that is still caught.
    """
    return depth >= max(2 * required, 1)


def in_window(when: datetime, context: IncidentContext) -> CheckOutcome:
    """Judge whether the block's time falls inside the incident's window."""
    inside = context.window_start <= when <= context.window_end
    raw = {"block_time": when.isoformat(), "window_start": context.window_start.isoformat(),
           "window_end": context.window_end.isoformat()}
    return CheckOutcome(CheckName.IN_WINDOW, Outcome.PASS if inside else Outcome.FAIL, [], raw)


def sender_outcome(claimed: str | None, matches: bool, raw: dict) -> CheckOutcome:
    """Judge the claimed sender: nothing claimed is inconclusive, else it must match the chain."""
    if not claimed:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.INCONCLUSIVE, [], raw)
    if not matches:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.FAIL, ["sender_mismatch"], raw)
    return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.PASS, [], raw)


def recipient_outcome(*, paid_attacker: bool, paid_safelisted: bool, raw: dict) -> CheckOutcome:
    """Judge who was paid; a safelisted address never counts as an attacker's."""
    if paid_attacker:
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.PASS, [], raw)
    if paid_safelisted:
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_safelisted"], raw)
    return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_not_attacker"], raw)


def amount_outcome(
    claim: ClaimInput, amount: Decimal | None, *, asset_ok: bool, tolerance: Decimal, raw: dict
) -> CheckOutcome:
    """Compare the claimed amount with what moved, within the incident's relative tolerance.

    ``raw`` holds what the family found; the claim's side is put before it.
    """
    raw = {"claimed_asset": claim.asset or None,
           "claimed_amount": str(claim.amount) if claim.amount is not None else None,
           "tolerance": str(tolerance), **raw}
    if not asset_ok or amount is None:
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["asset_mismatch"], raw)
    if claim.amount is None:
        raw["note"] = "no amount claimed: the transferred amount is taken"
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    if abs(claim.amount - amount) <= amount * tolerance:
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["amount_mismatch"], raw)


def usd_outcome(
    symbol: str | None, amount: Decimal | None, day: date, prices: Prices
) -> CheckOutcome:
    """Value the moved amount at the imported price of the block's UTC date."""
    price = prices.get((symbol, day)) if symbol else None
    raw = {"date": day.isoformat(), "symbol": symbol, "price_usd": str(price) if price else None}
    if symbol is None or amount is None:
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["asset_unknown"], raw)
    if price is None:
        # Never a zero: the value is unknown and the reason says so.
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["price_missing"], raw)
    raw["amount"] = str(amount)
    raw["usd"] = str((amount * price).quantize(CENTS))
    return CheckOutcome(CheckName.USD_VALUE, Outcome.PASS, [], raw)


def usd_value(usd: CheckOutcome) -> Decimal | None:
    """Return the USD value a usd_value outcome established, None when it did not pass."""
    return Decimal(usd.raw["usd"]) if usd.outcome == Outcome.PASS else None
