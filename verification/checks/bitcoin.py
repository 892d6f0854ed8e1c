"""Checks of one transfer claim against a Bitcoin transaction (docs/methodology.md, "Transfer checks").

The same checks, outcomes and reasons as the EVM transfer checks, read from Esplora's view of
a transaction: a Bitcoin transfer has many inputs and outputs, so the sender is one of the
addresses the inputs spent from, and the amount is what the outputs paid to attacker addresses.
Pure functions: nothing here reads the network or the database.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from incidents.chains import BTC_BECH32_RE
from incidents.vocabulary import CheckName
from verification.checks.transfers import (
    CENTS,
    AssetInfo,
    CheckOutcome,
    ClaimInput,
    IncidentContext,
    TransferFindings,
    _in_window,
)
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
    *, claim: ClaimInput, data: TxData, context: IncidentContext, head: int,
    prices: Mapping[tuple[str, date], Decimal],
) -> TransferFindings:
    """Run the transfer checks in catalogue order, stopping where later checks have nothing to judge."""
    exists = _tx_exists(data)
    if exists.outcome != Outcome.PASS:
        return TransferFindings([exists])
    block_number, block_time = data.block["number"], datetime.fromtimestamp(data.block["timestamp"], tz=UTC)
    confirmed, settled = _tx_confirmed(block_number, claim.chain, context, head)
    payment = find_payment(claim.chain, data.tx, context)
    native = context.asset_by_contract(claim.chain, None)
    usd = _usd_value(payment, native, block_time.date(), prices)
    outcomes = [
        exists, _tx_succeeded(), confirmed, _in_window(block_time, context),
        _sender_matches(claim, payment), _recipient_is_attacker(payment),
        _amount_matches(claim, payment, native, context.amount_tolerance),
        usd,
    ]
    value = Decimal(usd.raw["usd"]) if usd.outcome == Outcome.PASS else None
    sender = payment.senders[0] if len(payment.senders) == 1 else None
    return TransferFindings(outcomes, block_number, block_time, value, settled, sender)


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
    if data.error:
        reason = "providers_disagree" if data.error.startswith("providers_disagree") else "provider_error"
        return CheckOutcome(CheckName.TX_EXISTS, Outcome.ERROR, [reason], {"error": data.error})
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
    # Twice the required depth before re-checks stop: a reorg shallower than that is still caught.
    return outcome, depth >= max(2 * required, 1)


def _sender_matches(claim: ClaimInput, payment: Payment) -> CheckOutcome:
    claimed = _address(claim.from_address)
    raw = {"claimed": claimed, "inputs": payment.senders}
    if not claimed:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.INCONCLUSIVE, [], raw)
    if claimed not in payment.senders:
        return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.FAIL, ["sender_mismatch"], raw)
    return CheckOutcome(CheckName.SENDER_MATCHES, Outcome.PASS, [], raw)


def _recipient_is_attacker(payment: Payment) -> CheckOutcome:
    raw = {"outputs": payment.outputs, "to_attacker_sats": payment.sats("attacker")}
    if payment.sats("attacker"):
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.PASS, [], raw)
    if any(output["role"] == "safelisted" for output in payment.outputs):
        return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_safelisted"], raw)
    return CheckOutcome(CheckName.RECIPIENT_IS_ATTACKER, Outcome.FAIL, ["recipient_not_attacker"], raw)


def _amount_matches(
    claim: ClaimInput, payment: Payment, native: AssetInfo | None, tolerance: Decimal
) -> CheckOutcome:
    """Compare the claimed amount with what the transaction paid, in the chain's native coin."""
    raw = {"claimed_asset": claim.asset or None,
           "claimed_amount": str(claim.amount) if claim.amount is not None else None,
           "tolerance": str(tolerance), "asset": native.symbol if native else None,
           "amount": str(payment.amount), "basis": payment.basis}
    if native is None or (claim.asset and claim.asset.strip().casefold() != native.symbol.casefold()):
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["asset_mismatch"], raw)
    if claim.amount is None:
        raw["note"] = "no amount claimed: the transferred amount is taken"
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    if abs(claim.amount - payment.amount) <= payment.amount * tolerance:
        return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.PASS, [], raw)
    return CheckOutcome(CheckName.AMOUNT_MATCHES, Outcome.FAIL, ["amount_mismatch"], raw)


def _usd_value(
    payment: Payment, native: AssetInfo | None, day: date, prices: Mapping[tuple[str, date], Decimal]
) -> CheckOutcome:
    """Value the paid amount at the imported price of the block's UTC date."""
    symbol = native.symbol.upper() if native else None
    price = prices.get((symbol, day)) if symbol else None
    raw = {"date": day.isoformat(), "symbol": symbol, "price_usd": str(price) if price else None}
    if symbol is None:
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["asset_unknown"], raw)
    if price is None:
        # Never a zero: the value is unknown and the reason says so.
        return CheckOutcome(CheckName.USD_VALUE, Outcome.INCONCLUSIVE, ["price_missing"], raw)
    raw["amount"] = str(payment.amount)
    raw["usd"] = str((payment.amount * price).quantize(CENTS))
    return CheckOutcome(CheckName.USD_VALUE, Outcome.PASS, [], raw)
