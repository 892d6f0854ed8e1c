"""Turn stored check results into claim statuses, report tiers, flags and verified loss.

One pure function per level, fed only with what is stored, so that anyone can recompute a
row of the register from its check results (docs/methodology.md, "Tiers: what a row has proven").
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from incidents.models import Binding, ClaimStatus, Tier
from incidents.vocabulary import EXCHANGE_CONFIRMED, FRAUD_FLAGS, CheckName  # shared with incidents.guidance
from verification.models import Outcome

CENTS = Decimal("0.01")
MISMATCH_CHECKS = (CheckName.SENDER_MATCHES, CheckName.RECIPIENT_IS_ATTACKER, CheckName.AMOUNT_MATCHES)
TIER_ORDER = [Tier.T0, Tier.T1, Tier.T2, Tier.T3, Tier.T4]
# A decision outranks a signature, a signature outranks a withdrawal mail; equals never win.
BINDING_RANK = {Binding.NONE: 0, Binding.WITHDRAWAL_MAIL: 1, Binding.SIGNATURE: 2, Binding.DECISION: 3}
# Claims whose own checks hold up compete for a transfer; a mismatching citation proves nothing.
COMPETING = frozenset({ClaimStatus.VERIFIED, ClaimStatus.UNCONFIRMED})
# Where several mails and answers bear on one ticket, the first status in this list wins:
# a failing signature outweighs a passing one, an exchange's denial outweighs its mail.
TICKET_PRECEDENCE = ["dkim_invalid", "domain_mismatch", "duplicate_ticket", "recipient_mismatch",
                     "ticket_mismatch", "denied", "attested", "dkim_verified", "key_unknown", "unsigned",
                     "none"]
SIGNATURE_FAILURES = frozenset({"dkim_invalid", "domain_mismatch"})


@dataclass(frozen=True)
class CheckView:
    name: str
    outcome: str
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ClaimVerdict:
    status: str
    reasons: tuple[str, ...]


def claim_verdict(checks: Iterable[CheckView]) -> ClaimVerdict:
    """Return a transfer claim's status from its own checks: the first blocking finding wins.

    Whether another report claims the same transfer is not among them: citation_status weighs that
    afterwards, over the statuses this returns (verification/services.py, reports_recompute).
    """
    by_name = {check.name: check for check in checks}
    reasons = tuple(dict.fromkeys(r for c in by_name.values() for r in c.reasons if c.outcome != "pass"))
    errors = [c for c in by_name.values() if c.outcome == Outcome.ERROR]
    if not by_name or errors:
        return ClaimVerdict(ClaimStatus.UNCHECKED, tuple(r for c in errors for r in c.reasons))
    if _is(by_name, CheckName.TX_EXISTS, Outcome.FAIL):
        return ClaimVerdict(ClaimStatus.NOT_FOUND, ())
    if _is(by_name, CheckName.TX_EXISTS, Outcome.INCONCLUSIVE):
        return ClaimVerdict(ClaimStatus.UNCONFIRMED, ("pending",))
    for name, status in ((CheckName.TX_SUCCEEDED, ClaimStatus.REVERTED),
                         (CheckName.IN_WINDOW, ClaimStatus.OUTSIDE_WINDOW)):
        if _is(by_name, name, Outcome.FAIL):
            return ClaimVerdict(status, reasons)
    if any(_is(by_name, name, Outcome.FAIL) for name in MISMATCH_CHECKS):
        return ClaimVerdict(ClaimStatus.MISMATCH, reasons)
    if not _is(by_name, CheckName.TX_CONFIRMED, Outcome.PASS):
        return ClaimVerdict(ClaimStatus.UNCONFIRMED, reasons)
    return ClaimVerdict(ClaimStatus.VERIFIED, reasons)


def _is(by_name: dict[str, CheckView], name: str, outcome: str) -> bool:
    check = by_name.get(name)
    return check is not None and check.outcome == outcome


@dataclass(frozen=True)
class ClaimSummary:
    kind: str
    status: str
    usd_value: Decimal | None = None
    binding: str = Binding.NONE


@dataclass(frozen=True)
class ReportFacts:
    """Everything about a report that the tier, flags and verified loss depend on."""

    claims: tuple[ClaimSummary, ...] = ()
    claimed_loss_usd: Decimal | None = None
    tolerance: Decimal = Decimal("0.25")
    has_reference: bool = False  # a tx hash, a ticket id or an evidence file
    trade_loss_proven: bool = False
    trade_loss_usd: Decimal = Decimal("0")  # the net loss a consistent trade export proves
    ticket_status: str = "none"
    mail_flags: frozenset[str] = frozenset()
    resolved_flags: frozenset[str] = field(default_factory=frozenset)  # cleared by a moderator


@dataclass(frozen=True)
class ReportVerdict:
    tier: str
    flags: tuple[str, ...]
    verified_loss_usd: Decimal


def report_verdict(facts: ReportFacts) -> ReportVerdict:
    """Return the report's tier, flags and verified loss from its claims and evidence outcomes."""
    verified = [c for c in facts.claims if c.status == ClaimStatus.VERIFIED]
    transfers = sum((c.usd_value for c in verified if c.usd_value is not None), Decimal("0"))
    loss = (transfers + (facts.trade_loss_usd if facts.trade_loss_proven else 0)).quantize(CENTS)
    flags = set(facts.mail_flags)
    if any(c.status == ClaimStatus.NOT_FOUND for c in facts.claims):
        flags.add("tx_not_found")
    if any(c.status == ClaimStatus.DUPLICATE for c in facts.claims):
        flags.add("tx_claimed_elsewhere")
    if any(c.status == ClaimStatus.CONTESTED for c in facts.claims):
        flags.add("tx_contested")
    proven = bool(verified) or facts.trade_loss_proven
    all_valued = all(c.usd_value is not None for c in verified)
    # With a price missing the verified loss is unknown, not low: no warning on a guess.
    if proven and all_valued and _exceeds(facts.claimed_loss_usd, loss, facts.tolerance):
        flags.add("claim_exceeds_proof")
    tier = _tier(facts, proven)
    if (flags & FRAUD_FLAGS) - facts.resolved_flags:
        tier = min(tier, Tier.T1, key=TIER_ORDER.index)
    return ReportVerdict(tier=tier, flags=tuple(sorted(flags)), verified_loss_usd=loss)


def _exceeds(claimed: Decimal | None, verified: Decimal, tolerance: Decimal) -> bool:
    return claimed is not None and claimed > verified * (1 + tolerance)


def _tier(facts: ReportFacts, proven: bool) -> str:
    confirmed = facts.ticket_status in EXCHANGE_CONFIRMED
    if proven and confirmed and bound_transfer(facts.claims):
        return Tier.T4
    if proven and confirmed:
        return Tier.T3
    if proven:
        return Tier.T2
    return Tier.T1 if facts.has_reference else Tier.T0


def bound_transfer(claims: Iterable[ClaimSummary]) -> bool:
    """Say whether a verified transfer of the report is bound to it (signature, mail or decision)."""
    return any(c.status == ClaimStatus.VERIFIED and c.binding for c in claims)


@dataclass(frozen=True)
class Citation:
    """One report's claim on a transfer: what its own checks gave, and what binds it."""

    report_id: int
    checked_status: str
    binding: str = Binding.NONE


def citation_status(own: Citation, rivals: Iterable[Citation]) -> tuple[str, tuple[str, ...]]:
    """Weigh the other reports citing the same transfer: it is contested until one binds it.

    Citing first proves nothing: the strongest binding wins whatever the order, the others are
    duplicates, and with no binding (or two equally strong ones) the transfer counts for none.
    """
    competing = [r for r in rivals if r.report_id != own.report_id and r.checked_status in COMPETING]
    if own.checked_status not in COMPETING or not competing:
        return own.checked_status, ()
    best, mine = max(BINDING_RANK[r.binding] for r in competing), BINDING_RANK[own.binding]
    if mine > best:
        return own.checked_status, ()
    if best > mine:
        return ClaimStatus.DUPLICATE, ("claimed_elsewhere",)
    return ClaimStatus.CONTESTED, ("contested",)


def claim_binding(*, decided: bool, sender: str, signers: Iterable[str], mailed: bool) -> str:
    """Return the strongest binding a claim has: a decision, the sender's signature, then a mail."""
    if decided:
        return Binding.DECISION
    if sender and sender.lower() in {s.lower() for s in signers}:
        return Binding.SIGNATURE
    return Binding.WITHDRAWAL_MAIL if mailed else Binding.NONE


@dataclass(frozen=True)
class MailView:
    """What one support mail's check said about the ticket (see checks/mail.py)."""

    ticket_status: str
    flags: tuple[str, ...] = ()
    ticket_id: str | None = None  # None: the result predates the field; "": the mail names none


def ticket_base(
    *, cites_ticket: bool, mails: Iterable[MailView], answers: Iterable[str]
) -> tuple[str, set[str]]:
    """Return the ticket status the report's own mails and liaison answers give, and the mail flags.

    A mail naming no ticket (a withdrawal notice) bears on the ticket only when no mail names
    one; a failing signature always does. A report citing no ticket id is ``none``.
    """
    mails = list(mails)
    flags = {flag for mail in mails for flag in mail.flags}
    if not cites_ticket:
        return "none", flags
    naming = [m for m in mails if m.ticket_id != "" or m.ticket_status in SIGNATURE_FAILURES]
    statuses = {m.ticket_status for m in (naming if any(m.ticket_id for m in naming) else mails)}
    statuses |= set(answers)
    return next((s for s in TICKET_PRECEDENCE if s in statuses), "none"), flags


def ticket_status(*, base: str, verified_earlier: bool) -> tuple[str, set[str]]:
    """Apply "already verified for an earlier report" to a report's own ticket status and flags."""
    if verified_earlier and base not in SIGNATURE_FAILURES:
        return "duplicate_ticket", {"ticket_reused"}
    return base, set()
