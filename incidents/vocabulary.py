"""Words both incidents and the verification above it use: check outcomes, fraud flags, confirmations.

They live here, low, so that incidents can read them without importing verification
(docs/architecture.md); verification re-exports them where they were defined before
(verification.models.Outcome, verification.verdict.FRAUD_FLAGS and EXCHANGE_CONFIRMED).
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Outcome(models.TextChoices):
    PASS = "pass", _("Pass")
    FAIL = "fail", _("Fail")
    INCONCLUSIVE = "inconclusive", _("Inconclusive")
    ERROR = "error", _("Error")


# Flags that cap a report at T1 until a moderator resolves them (verification/verdict.py).
FRAUD_FLAGS = frozenset({"tx_claimed_elsewhere", "mail_forged", "mail_wrong_domain", "ticket_reused"})
# Ticket statuses in which the exchange itself confirmed the ticket: a signed mail or a liaison's answer.
EXCHANGE_CONFIRMED = frozenset({"dkim_verified", "attested"})
