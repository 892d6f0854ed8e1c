"""Checks of one transfer claim against what the chain says (docs/methodology.md, "Transfer checks").

Pure functions: they take the claim, the incident's reference data and the agreed chain data,
and return one outcome per check with the raw data it judged. Nothing here reads the network
or the database, so every rule is testable on its own. The vocabulary and the rules the Bitcoin
checks (``bitcoin.py``) share are in ``common.py``.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from incidents.vocabulary import CheckName
from verification.checks.common import (
    AssetInfo,
    CheckOutcome,
    ClaimInput,
    IncidentContext,
    Prices,
    TransferFindings,
    amount_outcome,
    block_time,
    deep_enough_to_settle,
    in_window,
    provider_error,
    recipient_outcome,
    sender_outcome,
    usd_outcome,
    usd_value,
)
from verification.clients.base import TxData
from verification.models import Outcome

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


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


def transfer_checks(
    *, claim: ClaimInput, data: TxData, context: IncidentContext, head: int, finalized: int | None,
    prices: Prices,
) -> TransferFindings:
    """Run the transfer checks in catalogue order, stopping where later checks have nothing to judge."""
    exists = _tx_exists(data)
    if exists.outcome != Outcome.PASS:
        return TransferFindings([exists])
    block, mined_at = data.block, block_time(data)
    confirmed, settled = _tx_confirmed(block["number"], claim.chain, context, head, finalized)
    outcomes = [exists, _tx_succeeded(data), confirmed, in_window(mined_at, context)]
    movement, asset_problem = find_movement(claim, data, context)
    outcomes += [
        _sender_matches(claim, movement),
        _recipient_is_attacker(claim.chain, movement, context),
        _amount_matches(claim, movement, asset_problem, context.amount_tolerance),
    ]
    usd = _usd_value(movement, mined_at.date(), prices)
    outcomes.append(usd)
    sender = movement.sender if movement else None
    return TransferFindings(outcomes, block["number"], mined_at, usd_value(usd), settled, sender)


def _tx_exists(data: TxData) -> CheckOutcome:
    failed = provider_error(data)
    if failed:
        return failed
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
        in_finalized = finalized is not None and block_number <= finalized
        settled = deep_enough_to_settle(depth, required) or in_finalized
    outcome = Outcome.PASS if ok else Outcome.INCONCLUSIVE
    return CheckOutcome(CheckName.TX_CONFIRMED, outcome, [] if ok else ["unconfirmed"], raw), settled


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
    matches = movement is not None and movement.sender == claim.from_address
    return sender_outcome(claim.from_address, matches, raw)


def _recipient_is_attacker(chain: str, movement: Movement | None, context: IncidentContext) -> CheckOutcome:
    recipient = (chain, movement.recipient) if movement else None
    safelisted = recipient in context.safelisted
    return recipient_outcome(paid_attacker=not safelisted and recipient in context.attackers,
                             paid_safelisted=safelisted, raw=_movement_raw(movement))


def _amount_matches(
    claim: ClaimInput, movement: Movement | None, asset_problem: bool, tolerance: Decimal
) -> CheckOutcome:
    return amount_outcome(claim, movement.amount if movement else None, asset_ok=not asset_problem,
                          tolerance=tolerance, raw=_movement_raw(movement))


def _usd_value(
    movement: Movement | None, day: date, prices: Prices
) -> CheckOutcome:
    """Value the moved amount at the imported price of the block's UTC date."""
    symbol = movement.asset.symbol.upper() if movement and movement.asset else None
    return usd_outcome(symbol, movement.amount if movement else None, day, prices)
