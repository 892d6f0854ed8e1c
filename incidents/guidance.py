"""Plain words for reporters: what each check found, what a tier means, how to reach the next one.

Pure functions over stored names and outcomes (see verification/checks/*.py and
verification/verdict.py), so the report page and its tests read the same sentences.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from incidents.models import DecisionReason, ReportStatus, Tier
from incidents.vocabulary import EXCHANGE_CONFIRMED, FRAUD_FLAGS, CheckName

# Catalogue order: the order a reporter reads a transfer's story in.
CHECK_ORDER = list(CheckName)  # declared in this order (incidents/vocabulary.py)

CHECK_TITLES = {
    CheckName.TX_EXISTS: _("Transaction found"),
    CheckName.TX_SUCCEEDED: _("Transaction succeeded"),
    CheckName.TX_CONFIRMED: _("Transaction final"),
    CheckName.IN_WINDOW: _("During the incident"),
    CheckName.SENDER_MATCHES: _("Sent from your address"),
    CheckName.RECIPIENT_IS_ATTACKER: _("Received by the attacker"),
    CheckName.AMOUNT_MATCHES: _("Amount and asset"),
    CheckName.NOT_CLAIMED_ELSEWHERE: _("Not cited by another report"),
    CheckName.USD_VALUE: _("Value in US dollars"),
    CheckName.DKIM_SIGNATURE: _("Email signature"),
    CheckName.TICKET_ID: _("Ticket id"),
    CheckName.EXPORT_PARSED: _("Export readable"),
    CheckName.TRADE_LOSS_CONSISTENT: _("Loss shown by the trades"),
    CheckName.OWNERSHIP_SIGNATURE: _("Wallet ownership"),
    CheckName.LEAKED_KEY_MEMBERSHIP: _("API key in the leak"),
}

CHECK_SENTENCES = {
    CheckName.TX_EXISTS: {
        "pass": _("The transaction exists on the chain."),
        "fail": _("No transaction with this hash was found on this chain."),
        "inconclusive": _("The transaction is known but is not in a block yet."),
    },
    CheckName.TX_SUCCEEDED: {
        "pass": _("The transaction succeeded."),
        "fail": _("The transaction failed on the chain (it was reverted), so it moved nothing."),
    },
    CheckName.TX_CONFIRMED: {
        "pass": _("The transaction is deep enough in the chain to count as final."),
        "inconclusive": _("The transaction is too recent to count as final; it will be checked again."),
    },
    CheckName.IN_WINDOW: {
        "pass": _("It happened during the incident."),
        "fail": _("It happened outside the incident's time window."),
    },
    CheckName.SENDER_MATCHES: {
        "pass": _("It was sent from the address you gave."),
        "fail": _("It was not sent from the address you gave."),
        "inconclusive": _("The sender was not compared: no sending address was given or none was found."),
    },
    CheckName.RECIPIENT_IS_ATTACKER: {
        "pass": _("It went to a known attacker address."),
        "fail": _("It did not go to a known attacker address."),
    },
    CheckName.AMOUNT_MATCHES: {
        "pass": _("The amount and asset match what you reported."),
        "fail": _("The amount or asset differs from what you reported."),
    },
    CheckName.NOT_CLAIMED_ELSEWHERE: {
        "pass": _("No other report competes for this transfer, or it is bound to yours."),
        "fail": _("This transfer is bound to another report."),
        "inconclusive": _("Other reports cite this transfer too, and none has proven that it is theirs."),
    },
    CheckName.USD_VALUE: {
        "pass": _("It was valued in US dollars at the price of the day it happened."),
        "inconclusive": _("It could not be valued in US dollars yet."),
    },
    CheckName.DKIM_SIGNATURE: {
        "pass": _("The email's signature proves it was sent by the exchange's support domain."),
        "fail": _("The email's signature does not prove that the exchange sent it."),
        "inconclusive": _("The email's signature could not be checked."),
    },
    CheckName.TICKET_ID: {
        "pass": _("The ticket id in the email matches the one in your report."),
        "fail": _("The ticket id in the email does not match the one in your report."),
        "inconclusive": _("The ticket id in the email could not be compared with your report."),
    },
    CheckName.EXPORT_PARSED: {
        "pass": _("Your trade-history export was read."),
        "fail": _("Your trade-history export could not be read."),
    },
    CheckName.TRADE_LOSS_CONSISTENT: {
        "pass": _("The trades in your export show a loss that fits the attack."),
        "fail": _("The trades in your export do not show a loss that fits the attack."),
        "inconclusive": _("The loss in your export could not be judged yet."),
    },
    CheckName.OWNERSHIP_SIGNATURE: {
        "pass": _("Your signed message proves that you control this wallet. It binds the transfers this "
                  "wallet sent; it binds nothing else."),
        "fail": _("The signed message does not prove that you control the wallet."),
    },
    CheckName.LEAKED_KEY_MEMBERSHIP: {
        "pass": _("Your API key is among the keys that leaked. This is recorded, but proves nothing on "
                  "its own: the list of leaked keys is public."),
        "fail": _("Your API key's fingerprint is not among the keys that leaked."),
    },
}

OUTCOME_SENTENCES = {
    "pass": _("This check passed."),
    "fail": _("This check failed."),
    "inconclusive": _("This check could not decide yet."),
    "error": _("This check could not run this time; it will be tried again."),
}

OUTCOME_LABELS = {
    "pass": _("passed"),
    "fail": _("failed"),
    "inconclusive": _("undecided"),
    "error": _("could not run"),
}

REASON_SENTENCES = {
    "pending": _("The transaction is waiting to be mined."),
    "unconfirmed": _("Not enough blocks have followed it yet."),
    "provider_error": _("The chain's servers did not answer properly."),
    "providers_disagree": _("The chain's servers gave different answers, so none was trusted."),
    "sender_mismatch": _("The sending address differs from yours."),
    "recipient_not_attacker": _("The receiving address is not on the incident's attacker list."),
    "recipient_safelisted": _("The receiving address belongs to an exchange, bridge or other known "
                              "service, not to the attacker."),
    "amount_mismatch": _("The amount moved differs from the amount you reported."),
    "asset_mismatch": _("The asset moved differs from the asset you reported."),
    "claimed_elsewhere": _("Another report proved that this transfer is theirs: its sender signed that "
                           "report's message, the exchange's withdrawal email to that reporter names it, "
                           "or a moderator decided so."),
    "contested": _("Other reports cite this transfer too. It counts for no one until one report proves "
                   "it is theirs."),
    "price_missing": _("No price is known yet for that asset on that day."),
    "asset_unknown": _("The asset is not one the incident lists."),
    "signature_invalid": _("The signature does not match the message: it was changed after it was sent."),
    "key_expired": _("The signing key had been retired when the mail was sent."),
    "signature_expired": _("The signature had expired when the mail was sent."),
    "body_length_tag": _("The signature covers only part of the message."),
    "unsigned": _("The mail carries no signature; forwarding by copy and paste removes it."),
    "not_aligned": _("The signature is not from the domain the mail claims to come from."),
    "domain_mismatch": _("The mail is signed, but not by the exchange's support domain."),
    "key_unknown": _("The exchange's signing key is not known, so the signature could not be checked."),
    "not_a_mail": _("The file is not an email message."),
    "bare_cr": _("The file's line breaks can be read in two ways, so what was signed is not certain."),
    "mixed_line_endings": _("The file's line breaks can be read in two ways, so what was signed is not "
                            "certain."),
    "nul_byte": _("The file holds a byte that mail programs read in different ways."),
    "envelope_line": _("A line among the headers can be read in two ways."),
    "header_unreadable": _("A header line cannot be read as mail programs read it."),
    "mail_unreadable": _("The mail cannot be read one way only, so no ticket id was read from it."),
    "too_many_signatures": _("The mail carries more than five signatures; Lossproof checks none of them."),
    "required_headers_unsigned": _("The exchange's signature does not cover the sender, recipient, subject "
                                   "and date together."),
    "recipient_mismatch": _("The mail was sent to another address than yours."),
    "ticket_pattern_invalid": _("The exchange's ticket format is misconfigured; a moderator will look."),
    "no_ticket_pattern": _("The exchange's ticket format is not known."),
    "no_claimed_ticket": _("Your report cites no ticket id to compare with."),
    "ticket_not_found": _("No ticket id was found in the mail."),
    "ticket_mismatch": _("The mail names a different ticket id."),
    "export_unreadable": _("The file is not a trade-history format Lossproof reads."),
    "no_trades_in_window": _("It holds no trades inside the incident's time window."),
    "no_loss": _("Its trades inside the window show no loss."),
    "no_signature_match": _("The trades match neither the attack's pattern nor the loss you reported."),
    "uncorroborated": _("Your export is on file and documents your claim. A file can be edited, so it proves "
                        "the loss only once other victims' exports show the same pairs traded in the same "
                        "hour; this is checked again by itself whenever another export arrives."),
    "price_off_market": _("Some of its trades are at prices far from what other victims' exports or that "
                          "day's market show (see the rows below); a moderator will look at them."),
    "signature_malformed": _("The signature is not in the expected form (0x followed by 130 characters)."),
    "signer_mismatch": _("The message was signed by another address."),
    "hash_malformed": _("The fingerprint is not in the expected form."),
    "not_in_leak": _("The key is not among the leaked ones."),
}

TIER_MEANINGS = {
    Tier.T0: _("Self-reported: your word, with nothing yet that can be checked."),
    Tier.T1: _("Documented: at least one checkable reference (a transaction hash, a ticket id or a "
               "file), but nothing proven yet."),
    Tier.T2: _("Loss proven: a transfer confirmed on the chain to an attacker address, or a loss shown "
               "by your trade-history export."),
    Tier.T3: _("Exchange-confirmed: the loss is proven and your exchange confirmed your support ticket, "
               "by a signed email or through its liaison."),
    Tier.T4: _("Corroborated: exchange-confirmed, and you proved that a verified transfer is yours: "
               "signed by the wallet that sent it, named in the exchange's withdrawal email to you, or "
               "bound by a moderator's decision."),
}

STATUS_MEANINGS = {
    ReportStatus.SUBMITTED: _("Received. The automatic checks start in a moment."),
    ReportStatus.CHECKING: _("The automatic checks are running."),
    ReportStatus.NEEDS_REVIEW: _("The automatic checks are done; a moderator will review the report."),
    ReportStatus.NEEDS_INFO: _("A moderator has a question for you: please answer below."),
    ReportStatus.VERIFIED: _("A moderator verified the report."),
    ReportStatus.PARTIALLY_VERIFIED: _("A moderator verified part of the report."),
    ReportStatus.REJECTED: _("A moderator rejected the report."),
    ReportStatus.WITHDRAWN: _("You withdrew the report."),
}

FLAG_SENTENCES = {
    "tx_not_found": _("One of your transaction hashes was not found on its chain. Check the hash and the "
                      "chain it was sent on."),
    "tx_claimed_elsewhere": _("A transfer you cite is bound to another report."),
    "tx_contested": _("A transfer you cite is cited by other reports too. Anyone can see transfers to the "
                      "attacker, so it counts for no one until one report proves it is theirs: sign your "
                      "report's ownership message with the wallet that sent it, or add the exchange's "
                      "withdrawal email that names its transaction hash."),
    "mail_forged": _("The support email's signature does not verify: the mail was changed after it was "
                     "sent, or was not sent by who it names."),
    "mail_wrong_domain": _("The support email is signed, but not by your exchange's support domain."),
    "ticket_reused": _("The ticket id you cite is already verified for a report submitted earlier."),
    "claim_exceeds_proof": _("The loss you claimed is larger than what the checks proved, by more than the "
                             "incident allows. This is a warning: the proven part still counts."),
}
FRAUD_NOTE = _("Until a moderator resolves this, the report cannot rise above T1.")

# Evidence kinds whose files are checked automatically; other kinds are read by moderators.
CHECKED_EVIDENCE = frozenset({"support_email", "trade_export"})


@dataclass(frozen=True)
class CheckLine:
    name: str
    title: str
    outcome: str
    outcome_label: str
    sentence: str


@dataclass(frozen=True)
class Hint:
    text: str
    action: str = ""  # "evidence" (the upload form), "ownership" (the ownership page) or ""


@dataclass(frozen=True)
class FlagNote:
    flag: str
    text: str
    fraud: bool


@dataclass(frozen=True)
class Standing:
    """What a report has shown so far, as far as the next tier depends on it."""

    tier: str
    flags: tuple[str, ...] = ()
    loss_proven: bool = False
    transfers: int = 0
    transfers_pending: bool = False
    has_trade_export: bool = False
    ticket_status: str = "none"
    ticket_id: str = ""
    exchange: str = ""
    bound: bool = False  # a verified transfer of the report is bound to it
    contested: bool = False  # a transfer of the report is cited by others and bound by none


def check_sentence(name: str, outcome: str, reasons=()) -> str:
    """Return what one check found, in plain words, with its reasons."""
    sentence = CHECK_SENTENCES.get(name, {}).get(outcome) or OUTCOME_SENTENCES.get(outcome, "")
    extra = [str(REASON_SENTENCES[r]) for r in _reason_keys(reasons) if r in REASON_SENTENCES]
    return " ".join([str(sentence), *extra]).strip()


def _reason_keys(reasons) -> list[str]:
    # "duplicated_header:from" names the header; the plain sentence is the same for all of them.
    return [str(r).split(":", 1)[0] for r in reasons or ()]


def check_lines(results) -> list[CheckLine]:
    """Turn stored check results (check_name, outcome, reasons) into lines in catalogue order."""
    def order(result) -> int:
        name = result.check_name
        return CHECK_ORDER.index(name) if name in CHECK_ORDER else len(CHECK_ORDER)

    return [CheckLine(r.check_name, str(CHECK_TITLES.get(r.check_name, r.check_name.replace("_", " "))),
                      r.outcome, str(OUTCOME_LABELS.get(r.outcome, r.outcome)),
                      check_sentence(r.check_name, r.outcome, r.reasons))
            for r in sorted(results, key=order)]


def tier_meaning(tier: str) -> str:
    """Return what a tier says about a report."""
    return str(TIER_MEANINGS.get(tier, ""))


def status_meaning(status: str) -> str:
    """Return what a workflow status means for the reporter."""
    return str(STATUS_MEANINGS.get(status, ""))


def flag_notes(flags) -> list[FlagNote]:
    """Explain each flag; fraud signals say that they cap the tier."""
    return [FlagNote(flag, _flag_text(flag), flag in FRAUD_FLAGS) for flag in flags]


def _flag_text(flag: str) -> str:
    text = str(FLAG_SENTENCES.get(flag, flag.replace("_", " ")))
    return f"{text} {FRAUD_NOTE}" if flag in FRAUD_FLAGS else text


def next_tier_hints(standing: Standing) -> list[Hint]:
    """List what would raise the report to the next tier, most useful first."""
    fraud = [flag for flag in standing.flags if flag in FRAUD_FLAGS]
    if fraud:
        return [Hint(_("A moderator first has to resolve what is flagged above. You can help by answering "
                       "their questions or adding evidence."), "evidence")]
    steps = {Tier.T0: _to_t1, Tier.T1: _to_t2, Tier.T2: _to_t3, Tier.T3: _to_t4}
    step = steps.get(standing.tier)
    return step(standing) if step else [Hint(_("This report has reached the highest tier, T4."))]


def _to_t1(standing: Standing) -> list[Hint]:
    return [Hint(_("Add one file that can be checked, such as a police report, your exchange's trade "
                   "history or a support email: any checkable reference raises this report to T1."),
                 "evidence")]


def _to_t2(standing: Standing) -> list[Hint]:
    hints = []
    if standing.contested:
        hints.append(Hint(_("A transfer you cite is also cited by other reports, so it proves nothing for "
                            "anyone yet. Signing your report's ownership message with the wallet that sent "
                            "it, or adding the exchange's withdrawal email that names it, would bind it to "
                            "your report and raise it to T2."), "ownership"))
    if standing.transfers_pending:
        hints.append(Hint(_("Your transfers are still being checked on the chain. One confirmed to an "
                            "attacker address raises this report to T2.")))
    elif standing.transfers:
        hints.append(Hint(_("None of your transfers is confirmed yet as going to an attacker address (see "
                            "the checks below). One that is would raise this report to T2.")))
    export = (_("Your trade-history export did not show the loss yet (see its checks and rows below). An "
                "export covering the whole incident window raises this report to T2 once other victims' "
                "exports show the same trades; that is checked again by itself.") if standing.has_trade_export
              else _("A trade-history export from your exchange (CSV or XLSX, covering the incident "
                     "window) that shows the loss would raise this report to T2."))
    hints.append(Hint(export, "evidence"))
    return hints


TICKET_PROBLEMS = {
    "unsigned": _("The support email you added carries no signature, usually because it was copied "
                  "rather than forwarded. Add the original message as an .eml file."),
    "key_unknown": _("Your support email's signature could not be checked yet: the exchange's signing "
                     "key is unknown. A moderator can add it; you need do nothing."),
    "ticket_mismatch": _("Your support email is genuine but names another ticket id than your report. "
                         "Add the email about the ticket your report cites."),
    "recipient_mismatch": _("Your support email is genuine but was sent to another address than the ones "
                            "your report gives. If your exchange account uses another address, add it as "
                            "“the email address your exchange writes to”."),
    "denied": _("The exchange's liaison says it does not know your ticket id. Add the support email that "
                "shows it."),
}


def _to_t3(standing: Standing) -> list[Hint]:
    exchange = standing.exchange or _("your exchange")
    problem = TICKET_PROBLEMS.get(standing.ticket_status)
    hints = [Hint(problem, "evidence")] if problem else []
    if standing.ticket_status not in EXCHANGE_CONFIRMED:
        hints.append(Hint(_("A support email from %(exchange)s about your ticket, forwarded as an .eml file "
                            "(“forward as attachment” or “download message”), would raise this report "
                            "to T3.") % {"exchange": exchange}, "evidence"))
    if standing.ticket_id and standing.ticket_status != "denied":
        hints.append(Hint(_("%(exchange)s's liaison may also confirm ticket %(ticket)s; that would raise "
                            "this report to T3 too, with nothing to do on your side.")
                          % {"exchange": exchange, "ticket": standing.ticket_id}))
    return hints


def _to_t4(standing: Standing) -> list[Hint]:
    return [Hint(_("Proving that a verified transfer is yours would raise this report to T4: sign your "
                   "report's ownership message with the wallet that sent it, or add the exchange's "
                   "withdrawal email to you that names its transaction hash."), "ownership")]


# --- Moderator decisions, told to the reporter (mail and report page) -------------------------

DECISION_MEANINGS = {
    DecisionReason.PROOF_SUFFICIENT: (
        _("The moderators found that the evidence proves the loss."),
        _("Nothing more is needed. New evidence that contradicts it would send the report back to review."),
    ),
    DecisionReason.PROOF_PARTIAL: (
        _("The moderators found that the evidence proves part of the loss, not all of it."),
        _("Proof of the rest would change this: the transaction hash of each further transfer, or the "
          "trade-history export of the account that lost it."),
    ),
    DecisionReason.EVIDENCE_INSUFFICIENT: (
        _("The moderators found that the evidence does not prove the loss yet."),
        _("A transaction hash sent to an attacker address, your exchange's signed support email (.eml) "
          "or a trade-history export could change this."),
    ),
    DecisionReason.EVIDENCE_FORGED: (
        _("The moderators found that some of the evidence was altered or not issued by who it names."),
        _("The original, unaltered files as your exchange sent them could change this."),
    ),
    DecisionReason.DUPLICATE_REPORT: (
        _("The moderators found that this loss is already counted in another report."),
        _("If the other report is not yours, proof that the transfer is yours (a challenge signed by the "
          "sending wallet, or your exchange's withdrawal email) could change this."),
    ),
    DecisionReason.OUT_OF_SCOPE: (
        _("The moderators found that this loss does not belong to this incident."),
        _("Evidence that the loss happened inside the incident's time window and went to its attackers "
          "could change this."),
    ),
    DecisionReason.CLAIM_INFLATED: (
        _("The moderators found that the claimed loss is larger than what the evidence shows."),
        _("Evidence for the difference (further transfers or trades) could change this."),
    ),
    DecisionReason.REPORTER_UNRESPONSIVE: (
        _("The moderators asked a question and received no answer."),
        _("Answering the question on this page sends the report back to review."),
    ),
}


def decision_meaning(reason: str) -> tuple[str, str]:
    """Return what a decision reason means and what evidence would change it, in plain words."""
    return DECISION_MEANINGS.get(reason, ("", ""))
