"""Words incidents and the verification above it share: check outcomes and names, fraud flags, confirmations.

They live here, low, so that incidents can read them without importing verification
(docs/architecture.md); verification re-exports them where they were defined before
(verification.models.Outcome, verification.verdict.FRAUD_FLAGS and EXCHANGE_CONFIRMED).
"""

from enum import StrEnum

from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")
    ERROR = "error", _("Error")


class CheckName(StrEnum):
    """Each automatic check, by the name stored in CheckResult.check_name (verification/checks/).

    A plain string enum, not TextChoices: check_name is no field's choices, and the titles a
    reporter reads are translated in incidents/guidance.py.
    """

    TX_EXISTS = "tx_exists"
    TX_SUCCEEDED = "tx_succeeded"
    TX_CONFIRMED = "tx_confirmed"
    IN_WINDOW = "in_window"
    SENDER_MATCHES = "sender_matches"
    RECIPIENT_IS_ATTACKER = "recipient_is_attacker"
    AMOUNT_MATCHES = "amount_matches"
    NOT_CLAIMED_ELSEWHERE = "not_claimed_elsewhere"
    USD_VALUE = "usd_value"
    DKIM_SIGNATURE = "dkim_signature"
    TICKET_ID = "ticket_id"
    EXPORT_PARSED = "export_parsed"
    TRADE_LOSS_CONSISTENT = "trade_loss_consistent"
    OWNERSHIP_SIGNATURE = "ownership_signature"
    LEAKED_KEY_MEMBERSHIP = "leaked_key_membership"


# Flags that cap a report at T1 until a moderator resolves them (verification/verdict.py).
FRAUD_FLAGS = frozenset({"tx_claimed_elsewhere", "mail_forged", "mail_wrong_domain", "ticket_reused"})
# Ticket statuses in which the exchange itself confirmed the ticket: a signed mail or a liaison's answer.
EXCHANGE_CONFIRMED = frozenset({"dkim_verified", "attested"})
