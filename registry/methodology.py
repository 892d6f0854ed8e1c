"""What the register's columns and values mean, shipped inside every release (methodology.md and sheet)."""

METHODOLOGY_VERSION = "2"

REPORT_COLUMNS = [
    ("report_ref", "stable pseudonym of the report: a keyed hash of its id, the same in every release"),
    ("source", "where the report came from: web, api, or FILE:ROW for a row of an imported sheet"),
    ("exchange", "the exchange whose account was hit, as the incident names it"),
    ("claimed_loss_usd", "the loss the reporter stated, in USD: their word, not checked"),
    ("verified_loss_usd", "the sum of what the checks proved, in USD (see Valuation)"),
    ("tier", "what the report has proven, T0 to T4 (see Tiers)"),
    ("status", "where the report stands in the workflow (see Report statuses)"),
    ("flags", "warnings and fraud signals, ;-separated (see Flags)"),
    ("evidence_kinds", "kinds of file the reporter attached, ;-separated; the files are never published"),
    ("transfers_claimed", "number of on-chain transfers the report claims"),
    ("transfers_verified", "number of those transfers whose status is verified"),
    ("ticket_status", "outcome for the support ticket the report cites (see Ticket statuses)"),
    ("decided_at", "when a moderator decided, UTC; empty while undecided"),
    ("decision_reason", "the reason code of the moderator's decision (see Decision reasons); empty while "
                        "undecided"),
    ("resolved_flags", "fraud flags a moderator examined and cleared, ;-separated; they stay listed in "
                       "flags so that the resolution stays visible"),
    ("police_report_cited", "yes when the reporter cited a police report (the reference itself stays "
                            "private), otherwise no"),
]

CLAIM_COLUMNS = [
    ("report_ref", "the report the claim belongs to (reports.csv)"),
    ("kind", "transfer (on-chain) or trade_loss (backed by an exchange trade-history export)"),
    ("chain", "CAIP-2 id of the chain, e.g. eip155:1 for Ethereum"),
    ("tx_hash", "transaction hash as claimed"),
    ("log_index", "index of the token Transfer log, when the reporter named one"),
    ("asset", "asset symbol as claimed"),
    ("amount", "amount as claimed, in whole units of the asset, exact (kept as text in spreadsheets "
               "because token amounts carry more digits than a spreadsheet number holds)"),
    ("from_address", "the victim's address as claimed"),
    ("to_address", "the recipient as claimed"),
    ("block_number", "block the transaction was found in"),
    ("block_time", "time of that block, UTC"),
    ("usd_value", "what the transfer proved, in USD at the daily price of the block's UTC date"),
    ("status", "what the checks established (see Claim statuses)"),
    ("reasons", "why, ;-separated machine reasons (see Reasons)"),
    ("period_start", "for a trade claim: start of the trading period the reporter named, UTC"),
    ("period_end", "for a trade claim: end of that period, UTC"),
]

TIERS = [
    ("T0", "self-reported"),
    ("T1", "documented: at least one checkable reference (tx hash, ticket id or evidence file), nothing "
           "proven yet; a ticket mail that verifies without any proven loss stays here"),
    ("T2", "loss proven: a transfer confirmed on-chain to an attacker address, or a trade loss proven "
           "from a parsed export consistent with the incident"),
    ("T3", "exchange-confirmed: T2 plus a DKIM-verified support-ticket mail from the exchange's "
           "domain, or a liaison attestation"),
    ("T4", "corroborated: T3 plus a binding, an independent proof that a verified transfer is the "
           "reporter's own (see Binding); a second moderator's confirmation lifts no tier, and a "
           "leaked-key hash lifts nothing because the leaked list is public"),
]

REPORT_STATUSES = [
    ("submitted", "received, not yet checked"),
    ("checking", "automatic checks running"),
    ("needs_review", "checked, waiting for a moderator"),
    ("needs_info", "a moderator asked the reporter for more"),
    ("verified", "a moderator accepted the report"),
    ("partially_verified", "a moderator accepted part of the claimed loss"),
    ("rejected", "a moderator rejected the report"),
]

FLAGS = [
    ("tx_not_found", "warning: a claimed transaction is not on the chain"),
    ("tx_contested", "warning: a transfer this report cites is cited by other reports too and none has "
                     "bound it yet; it counts for none of them until one does"),
    ("tx_claimed_elsewhere", "fraud signal: a transfer this report cites is bound to another report; "
                             "caps the tier at T1"),
    ("mail_forged", "fraud signal: a support mail's DKIM signature fails; caps the tier at T1"),
    ("mail_wrong_domain", "fraud signal: the mail is signed, but not by the exchange's support domain; "
                          "caps the tier at T1"),
    ("ticket_reused", "fraud signal: the ticket is already verified for an earlier report (a mail "
                      "addressed to that reporter, or a liaison attestation); caps the tier at T1"),
    ("claim_exceeds_proof", "warning: the claimed loss exceeds the verified loss by more than the "
                            "incident's tolerance (25% by default)"),
]

CLAIM_STATUSES = [
    ("verified", "every check passed"),
    ("mismatch", "the transaction exists but differs from the claim (see reasons)"),
    ("not_found", "no such transaction on the chain"),
    ("reverted", "the transaction failed on-chain"),
    ("outside_window", "the block time lies outside the incident's window"),
    ("duplicate", "the transfer is bound to another report (see Binding)"),
    ("contested", "several reports cite the transfer and none has bound it: it proves nothing for any "
                  "of them until one does"),
    ("unconfirmed", "not yet deep enough in the chain"),
    ("unchecked", "not checked yet, or the chain endpoints failed or disagreed"),
]

REASONS = [
    ("amount_mismatch", "the moved amount differs from the claimed one beyond the tolerance"),
    ("asset_mismatch", "the claimed asset is not what moved"),
    ("sender_mismatch", "the value did not come from the claimed victim address"),
    ("recipient_not_attacker", "the recipient is not a known attacker address"),
    ("recipient_safelisted", "the recipient is a safelisted address (exchange wallet, bridge, router)"),
    ("claimed_elsewhere", "the transfer is bound to another report"),
    ("contested", "other reports cite the same transfer and none has bound it"),
    ("unconfirmed", "the block lacks the required confirmations"),
    ("pending", "the transaction is known but not mined"),
    ("price_missing", "no daily price for the asset on the block's date: not valued, never valued at zero"),
    ("asset_unknown", "the asset is not one of the incident's assets"),
    ("provider_error", "a chain endpoint failed; the claim will be checked again"),
    ("provider_refused", "a chain endpoint refused the request"),
    ("providers_disagree", "the chain endpoints gave different answers, so none was trusted"),
]

TICKET_STATUSES = [
    ("dkim_verified", "the exchange's support mail carries a valid DKIM signature of its domain"),
    ("dkim_invalid", "a signature fails or the mail was tampered with"),
    ("domain_mismatch", "validly signed, but not by one of the exchange's support domains"),
    ("unsigned", "the mail carries no DKIM signature"),
    ("key_unknown", "no key found for the signature, in the archive or in DNS"),
    ("ticket_mismatch", "the ticket id in the mail is not the one claimed"),
    ("duplicate_ticket", "the ticket is already verified for an earlier report"),
    ("recipient_mismatch", "validly signed by the exchange, but addressed to someone other than the "
                           "reporter: no exchange confirmation, no fraud flag"),
    ("attested", "an exchange liaison confirmed the ticket"),
    ("denied", "an exchange liaison denied the ticket"),
    ("none", "the report cites no ticket id, or no evidence bears on it"),
]

TICKET_PRECEDENCE_TEXT = (
    "Where several mails and answers bear on one ticket, the first of these wins: dkim_invalid, "
    "domain_mismatch, duplicate_ticket, recipient_mismatch, ticket_mismatch, denied, attested, "
    "dkim_verified, key_unknown, unsigned. A failing signature outweighs a passing one."
)

BINDING = (
    "Attacker addresses and the transfers into them are public, so citing a transfer proves only "
    "that it happened, not whose loss it was. A transfer is bound to a report by one of: (a) the "
    "report's own challenge text signed (EIP-191) by the address that sent the transfer; (b) a "
    "support mail from the exchange's own domain, DKIM-verified and addressed to the reporter, that "
    "names the transaction hash (a withdrawal notice); (c) a moderator's decision, with its reason. "
    "A transfer cited by a single report counts for it; a transfer cited by several reports is "
    "contested for all of them, proving nothing for anyone, until one of them binds it: then it is "
    "verified for that report and a duplicate (flag tx_claimed_elsewhere) for the others, whoever "
    "cited it first."
)

DECISION_REASONS = [
    ("proof_sufficient", "the checks and evidence prove the decided loss"),
    ("proof_partial", "part of the claimed loss is proven"),
    ("evidence_insufficient", "the evidence does not prove the loss"),
    ("evidence_forged", "evidence was forged or tampered with"),
    ("duplicate_report", "the same loss is already counted in another report"),
    ("out_of_scope", "the loss does not belong to this incident"),
    ("claim_inflated", "the claimed loss exceeds what happened"),
    ("reporter_unresponsive", "the reporter did not answer the moderators' questions"),
]

EVIDENCE_KINDS = [
    ("support_email", "support-ticket mail (.eml)"),
    ("trade_export", "exchange trade-history export"),
    ("police_report", "police report"),
    ("screenshot", "screenshot"),
    ("other", "other file"),
]

VALUATION = (
    "The claimed loss is the reporter's word. The verified loss is the sum of what the checks "
    "proved: each verified transfer valued with the imported daily USD price of its block's UTC "
    "date (never the reporter's date, never a default: a missing price is the reason price_missing, "
    "not a zero), plus trade losses proven from parsed exchange exports. Both stand side by side; "
    "money is in USD with two decimals."
)

SECTIONS = [
    ("reports.csv columns", REPORT_COLUMNS), ("claims.csv columns", CLAIM_COLUMNS), ("Tiers", TIERS),
    ("Report statuses", REPORT_STATUSES), ("Flags", FLAGS), ("Claim statuses", CLAIM_STATUSES),
    ("Reasons", REASONS), ("Ticket statuses", TICKET_STATUSES), ("Evidence kinds", EVIDENCE_KINDS),
    ("Decision reasons", DECISION_REASONS),
]

INTRO = (
    "Every report of the incident that has not been withdrawn is listed, decided or not; its status "
    "says where it stands. No name, e-mail address or account id appears: report_ref is a keyed "
    "pseudonym that stays the same from one release to the next. Text cells that begin with = + - @, "
    "a tab or a carriage return are prefixed with a single quote so that no spreadsheet runs them "
    "as formulas."
)


def methodology_markdown() -> str:
    """Return methodology.md as shipped in a release."""
    lines = ["# Lossproof register: methodology", "", f"Methodology version: {METHODOLOGY_VERSION}", "",
             INTRO, "", "## Valuation", "", VALUATION, "", "## Binding and contested transfers", "",
             BINDING, "", "## Ticket precedence", "", TICKET_PRECEDENCE_TEXT, ""]
    for title, entries in SECTIONS:
        lines += [f"## {title}", "", "| value | meaning |", "|---|---|"]
        lines += [f"| `{name}` | {meaning} |" for name, meaning in entries]
        lines.append("")
    return "\n".join(lines)


def methodology_rows() -> list[list[str]]:
    """Return the methodology sheet's rows (section, value, meaning) for the spreadsheets."""
    rows = [["methodology version", METHODOLOGY_VERSION, ""], ["register", "", INTRO],
            ["valuation", "", VALUATION], ["binding", "", BINDING],
            ["ticket precedence", "", TICKET_PRECEDENCE_TEXT]]
    for title, entries in SECTIONS:
        rows += [[title, name, meaning] for name, meaning in entries]
    return rows


METHODOLOGY_HEADER = ["section", "value", "meaning"]
