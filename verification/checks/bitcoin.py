"""Checks of one transfer claim against a Bitcoin transaction (docs/methodology.md, "Transfer checks").

The same checks, outcomes and reasons as the EVM transfer checks, read from Esplora's view of
a transaction: a Bitcoin transfer has many inputs and outputs, so the sender is one of the
addresses the inputs spent from, and the amount is what the outputs paid to attacker addresses.
The rules both families apply alike are in ``common.py``. Pure functions: nothing here reads
the network or the database.
"""

from dataclasses import dataclass
from decimal import Decimal

from incidents.chains import BTC_BECH32_RE
from incidents.vocabulary import CheckName
from verification.checks import common
from verification.checks.common import CheckOutcome, ClaimInput, IncidentContext, Prices, TransferFindings
from verification.clients.base import TxData
from verification.models import Outcome

SATS_PER_BTC = 8  # decimal places between satoshis and bitcoin, whatever the asset row says
# Bitcoin has no `finalized` tag: an incident that names no depth gets the customary six blocks.
DEFAULT_CONFIRMATIONS = 6


@dataclass
class Payment:
    """Who paid into a Bitcoin transaction and where its outputs went, by the incident's lists."""

    senders: list[str]  # distinct addresses the inputs spent from, in input order
    outputs: list[dict]  # {"address", "sats", "role"}; role: attacker, safelisted, change or other

    def sats(self, role: str) -> int:
        return sum(output["sats"] for output in self.outputs if output["role"] == role)

    @property
    def basis(self) -> str:
        """Name what the amount counts: attacker outputs, or, when there are none, the non-change ones."""
        return "attacker_outputs" if self.sats("attacker") else "outputs_not_to_senders"

    @property
    def amount(self) -> Decimal:
        sats = self.sats("attacker") or sum(o["sats"] for o in self.outputs if o["role"] != "change")
        return Decimal(sats).scaleb(-SATS_PER_BTC)


def bitcoin_transfer_checks(
    *, claim: ClaimInput, data: TxData, context: IncidentContext, head: int, prices: Prices
) -> TransferFindings:
    """Run the checks on an Esplora transaction in catalogue order; a missing one stops them."""
    exists = _tx_exists(data)
    if exists.outcome != Outcome.PASS:
        return TransferFindings([exists])  # later checks would have nothing to judge
    block_number, mined_at = data.block["number"], common.block_time(data)
    confirmed, settled = _tx_confirmed(block_number, claim.chain, context, head)
    payment = find_payment(claim.chain, data.tx, context)
    native = context.asset_by_contract(claim.chain, None)
    symbol = native.symbol.upper() if native else None
    usd = common.usd_outcome(symbol, payment.amount, mined_at.date(), prices)
    outcomes = [
        exists, _tx_succeeded(), confirmed, common.in_window(mined_at, context),
        _sender_matches(claim, payment), _recipient_is_attacker(payment),
        _amount_matches(claim, payment, native, context.amount_tolerance),
        usd,
    ]
    sender = payment.senders[0] if len(payment.senders) == 1 else None
    return TransferFindings(outcomes, block_number, mined_at, common.usd_value(usd), settled, sender)


def find_payment(chain: str, tx: dict, context: IncidentContext) -> Payment:
    """Read the transaction's input addresses and label each output by the incident's lists."""
    senders = [_address((item.get("prevout") or {}).get("scriptpubkey_address")) for item in tx["vin"]]
    senders = [address for address in dict.fromkeys(senders) if address]
    outputs = []
    for item in tx["vout"]:
        address = _address(item.get("scriptpubkey_address"))
        outputs.append({"address": address, "sats": item["value"],
                        "role": _role(chain, address, senders, context)})
    return Payment(senders, outputs)


def _role(chain: str, address: str | None, senders: list[str], context: IncidentContext) -> str:
    """Label an output; a safelisted address is never an attacker's, even if listed as one."""
    if (chain, address) in context.safelisted:
        return "safelisted"
    if (chain, address) in context.attackers:
        return "attacker"
    return "change" if address in senders else "other"


def _address(value) -> str | None:
    """Return an address in the form incidents store it (bech32 lowercase, base58 as is)."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value.lower() if BTC_BECH32_RE.fullmatch(value.lower()) else value


def _tx_exists(data: TxData) -> CheckOutcome:
    failed = common.provider_error(data)
    if failed:
        return failed
    if data.tx is None:
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.FAIL, [], {"tx": None})
    if data.block is None:
        # In the mempool but not mined yet: not a failure, just not final.
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.INCONCLUSIVE, ["pending"], {"tx": _tx_raw(data.tx)})
    return CheckOutcome(CheckName.TX_EXISTS, Outcome.PASS, [], {"tx": _tx_raw(data.tx), "block": data.block})


def _tx_raw(tx: dict) -> dict:
    return {key: tx.get(key) for key in ("txid", "fee", "size", "weight")}


def _tx_succeeded() -> CheckOutcome:
    # Bitcoin has no reverted transactions: a mined one spent its inputs and paid its outputs.
    return CheckOutcome(CheckName.TX_SUCCEEDED, Outcome.PASS, [],
                        {"note": "a mined Bitcoin transaction cannot fail"})


def _tx_confirmed(
    block_number: int, chain: str, context: IncidentContext, head: int
) -> tuple[CheckOutcome, bool]:
    """Judge depth; also say whether the block is deep enough that re-checks can stop."""
    required = context.confirmations.get(chain)
    required = DEFAULT_CONFIRMATIONS if required is None else required
    depth = max(head - block_number + 1, 0)
    raw = {"block_number": block_number, "head": head, "confirmations": depth, "required": required}
    ok = depth >= required
    outcome = CheckOutcome(CheckName.TX_CONFIRMED, Outcome.PASS if ok else Outcome.INCONCLUSIVE,
                           [] if ok else ["unconfirmed"], raw)
    return outcome, common.deep_enough_to_settle(depth, required)


def _sender_matches(claim: ClaimInput, payment: Payment) -> CheckOutcome:
    claimed = _address(claim.from_address)
    raw = {"claimed": claimed, "inputs": payment.senders}
    return common.sender_outcome(claimed, claimed in payment.senders, raw)


def _recipient_is_attacker(payment: Payment) -> CheckOutcome:
    raw = {"outputs": payment.outputs, "to_attacker_sats": payment.sats("attacker")}
    paid_safelisted = any(output["role"] == "safelisted" for output in payment.outputs)
    return common.recipient_outcome(paid_attacker=bool(payment.sats("attacker")),
                                    paid_safelisted=paid_safelisted, raw=raw)


def _amount_matches(
    claim: ClaimInput, payment: Payment, native: common.AssetInfo | None, tolerance: Decimal
) -> CheckOutcome:
    """Compare the claimed amount with what the transaction paid, in the chain's native coin."""
    raw = {"asset": native.symbol if native else None, "amount": str(payment.amount), "basis": payment.basis}
    asset_ok = native is not None and not (
        claim.asset and claim.asset.strip().casefold() != native.symbol.casefold()
    )
    return common.amount_outcome(claim, payment.amount, asset_ok=asset_ok, tolerance=tolerance, raw=raw)
