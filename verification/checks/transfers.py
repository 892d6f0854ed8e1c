"""Checks of one transfer claim against what the chain says (docs/methodology.md, "Transfer checks").

Pure functions: they take the claim, the incident's reference data and the agreed chain data,
and return one outcome per check with the raw data it judged. Nothing here reads the network
or the database, so every rule is testable on its own.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from incidents.vocabulary import CheckName
from verification.clients.base import TxData
from verification.models import Outcome

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
CENTS = Decimal("0.01")


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
class Movement:
    """The value transfer found in the transaction: native value or one ERC-20 Transfer log."""

    sender: str
    recipient: str
    units: int
    contract: str | None
    log_index: int | None
    asset: AssetInfo | None

    @property
    def amount(self) -> Decimal | None:
        return None if self.asset is None else Decimal(self.units).scaleb(-self.asset.decimals)


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


def transfer_checks(
    *, claim: ClaimInput, data: TxData, context: IncidentContext, head: int, finalized: int | None,
    prices: Mapping[tuple[str, date], Decimal],
) -> TransferFindings:
    """Run the transfer checks in catalogue order, stopping where later checks have nothing to judge."""
    exists = _tx_exists(data)
    if exists.outcome != Outcome.PASS:
        return TransferFindings([exists])
    block = data.block
    block_time = datetime.fromtimestamp(block["timestamp"], tz=UTC)
    confirmed, settled = _tx_confirmed(block["number"], claim.chain, context, head, finalized)
    outcomes = [exists, _tx_succeeded(data), confirmed, _in_window(block_time, context)]
    movement, asset_problem = find_movement(claim, data, context)
    outcomes += [
        _sender_matches(claim, movement),
        _recipient_is_attacker(claim.chain, movement, context),
        _amount_matches(claim, movement, asset_problem, context.amount_tolerance),
    ]
    usd = _usd_value(movement, block_time.date(), prices)
    outcomes.append(usd)
    value = Decimal(usd.raw["usd"]) if usd.outcome == Outcome.PASS else None
    sender = movement.sender if movement else None
    return TransferFindings(outcomes, block["number"], block_time, value, settled, sender)


def _tx_exists(data: TxData) -> CheckOutcome:
    if data.error:
        reason = "providers_disagree" if data.error.startswith("providers_disagree") else "provider_error"
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.ERROR, [reason], {"error": data.error})
    if data.tx is None:
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.FAIL, [], {"tx": None, "receipt": None})
    if data.receipt is None or data.block is None:
        # Known to the node but not mined yet: not a failure, just not final.
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.INCONCLUSIVE, ["pending"], {"tx": _tx_raw(data.tx)})
    return CheckOutcome(CheckName.TX_EXISTS, Outcome.PASS, [], {
        "tx": _tx_raw(data.tx), "block": data.block, "receipt_status": data.receipt.get("status"),
    })


def _tx_raw(tx: dict) -> dict:
    return {key: tx.get(key) for key in ("hash", "from", "to", "value", "blockNumber", "blockHash")}


def _tx_succeeded(data: TxData) -> CheckOutcome:
    status = data.receipt.get("status")
    outcome = Outcome.PASS if status == "0x1" else Outcome.FAIL
    return CheckOutcome(CheckName.TX_SUCCEEDED, outcome, [], {"receipt_status": status})


def _tx_confirmed(
    block_number: int, chain: str, context: IncidentContext, head: int, finalized: int | None
) -> tuple[CheckOutcome, bool]:
    """Judge depth; also say whether the block is deep enough that re-checks can stop."""
    required = context.confirmations.get(chain)
    depth = max(head - block_number + 1, 0)
    raw = {"block_number": block_number, "head": head, "finalized": finalized,
           "confirmations": depth, "required": required if required is not None else "finalized"}
    if required is None:
        ok = finalized is not None and block_number <= finalized
        settled = ok
    else:
        ok = depth >= required
        # Twice the required depth before re-checks stop: a reorg shallower than that is still caught.
        settled = depth >= max(2 * required, 1) or (finalized is not None and block_number <= finalized)
    outcome = Outcome.PASS if ok else Outcome.INCONCLUSIVE
    return CheckOutcome(CheckName.TX_CONFIRMED, outcome, [] if ok else ["unconfirmed"], raw), settled


def _in_window(block_time: datetime, context: IncidentContext) -> CheckOutcome:
    inside = context.window_start <= block_time <= context.window_end
    raw = {"block_time": block_time.isoformat(), "window_start": context.window_start.isoformat(),
           "window_end": context.window_end.isoformat()}
    return CheckOutcome(CheckName.IN_WINDOW, Outcome.PASS if inside else Outcome.FAIL, [], raw)


def find_movement(
    claim: ClaimInput, data: TxData, context: IncidentContext
) -> tuple[Movement | None, bool]:
    """Find the transfer the claim is about; the flag says the claimed asset is not what moved."""
    claimed = context.asset_by_symbol(claim.chain, claim.asset) if claim.asset else None
    if claim.asset and claimed is None:
        return _any_movement(claim, data, context), True
    if claimed is not None and claimed.contract is None:
        native = _native_movement(data, claimed)
        return native, native.units == 0
    logs = _transfer_logs(data, claim.log_index)
    if claimed is not None:
        mine = [log for log in logs if log.contract == claimed.contract]
        if not mine:
            return _any_movement(claim, data, context), True
        return _pick(mine, claim, context), False
    return _any_movement(claim, data, context), False


def _any_movement(claim: ClaimInput, data: TxData, context: IncidentContext) -> Movement | None:
    native_asset = context.asset_by_contract(claim.chain, None)
    if int(data.tx.get("value") or "0x0", 16) > 0 and claim.log_index is None:
        return _native_movement(data, native_asset)
    logs = _transfer_logs(data, claim.log_index)
    for log in logs:
        log.asset = context.asset_by_contract(claim.chain, log.contract)
    return _pick(logs, claim, context) if logs else None


def _native_movement(data: TxData, asset: AssetInfo | None) -> Movement:
    tx = data.tx
    return Movement(sender=(tx.get("from") or "").lower(), recipient=(tx.get("to") or "").lower(),
                    units=int(tx.get("value") or "0x0", 16), contract=None, log_index=None, asset=asset)


def _transfer_logs(data: TxData, log_index: int | None) -> list[Movement]:
    found = []
    for log in data.receipt.get("logs") or []:
        topics = log.get("topics") or []
        if len(topics) != 3 or topics[0].lower() != TRANSFER_TOPIC:
            continue  # ERC-721 and other events share the name but not the shape
        index = int(log.get("logIndex") or "0x0", 16)
        if log_index is not None and index != log_index:
            continue
        found.append(Movement(sender="0x" + topics[1][-40:].lower(), recipient="0x" + topics[2][-40:].lower(),
                              units=int(log.get("data") or "0x0", 16), contract=log["address"].lower(),
                              log_index=index, asset=None))
    return found


def _pick(logs: list[Movement], claim: ClaimInput, context: IncidentContext) -> Movement:
    """Prefer the log paying an attacker, then the one from the claimed sender, then the first."""
    def rank(log: Movement) -> tuple[bool, bool]:
        return ((claim.chain, log.recipient) not in context.attackers,
                bool(claim.from_address) and log.sender != claim.from_address)
    best = min(logs, key=rank)
    if best.asset is None:
        best.asset = context.asset_by_contract(claim.chain, best.contract)
    return best


def _movement_raw(movement: Movement | None) -> dict:
    if movement is None:
        return {"movement": None}
    return {"sender": movement.sender, "recipient": movement.recipient, "units": str(movement.units),
            "contract": movement.contract, "log_index": movement.log_index,
            "asset": movement.asset.symbol if movement.asset else None,
            "amount": str(movement.amount) if movement.amount is not None else None}


def _sender_matches(claim: ClaimInput, movement: Movement | None) -> CheckOutcome:
    raw = {"claimed": claim.from_address or None, **_movement_raw(movement)}
    if not claim.from_address:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.INCONCLUSIVE, [], raw)
    if movement is None or movement.sender != claim.from_address:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.FAIL, ["sender_mismatch"], raw)
    return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.PASS, [], raw)


def _recipient_is_attacker(chain: str, movement: Movement | None, context: IncidentContext) -> CheckOutcome:
    raw = _movement_raw(movement)
    recipient = (chain, movement.recipient) if movement else None
    if recipient in context.safelisted:
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_safelisted"], raw)
    if recipient in context.attackers:
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.PASS, [], raw)
    return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_not_attacker"], raw)


def _amount_matches(
    claim: ClaimInput, movement: Movement | None, asset_problem: bool, tolerance: Decimal
) -> CheckOutcome:
    raw = {"claimed_asset": claim.asset or None,
           "claimed_amount": str(claim.amount) if claim.amount is not None else None,
           "tolerance": str(tolerance), **_movement_raw(movement)}
    if asset_problem or movement is None or movement.amount is None:
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["asset_mismatch"], raw)
    if claim.amount is None:
        raw["note"] = "no amount claimed: the transferred amount is taken"
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    if abs(claim.amount - movement.amount) <= movement.amount * tolerance:
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["amount_mismatch"], raw)


def _usd_value(
    movement: Movement | None, day: date, prices: Mapping[tuple[str, date], Decimal]
) -> CheckOutcome:
    """Value the moved amount at the imported price of the block's UTC date."""
    symbol = movement.asset.symbol.upper() if movement and movement.asset else None
    price = prices.get((symbol, day)) if symbol else None
    raw = {"date": day.isoformat(), "symbol": symbol, "price_usd": str(price) if price else None}
    if symbol is None or movement.amount is None:
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["asset_unknown"], raw)
    if price is None:
        # Never a zero: the value is unknown and the reason says so.
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["price_missing"], raw)
    raw["amount"] = str(movement.amount)
    raw["usd"] = str((movement.amount * price).quantize(CENTS))
    return CheckOutcome(CheckName.USD_VALUE, Outcome.PASS, [], raw)

