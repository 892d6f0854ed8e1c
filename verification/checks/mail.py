"""Checks of a support-ticket mail (.eml) (docs/methodology.md, "Mail").

Pure functions: they take the raw mail, the exchange's support domains and ticket pattern, the
incident's DKIM key archive, the reporter's addresses and a DNS lookup (the one outside call,
replaced in tests), and return the outcomes ``dkim_signature`` and ``ticket_id`` with the raw data
they judged, the ticket status and the report flags. Nothing here reads the database.

One reading of the bytes (verification.mailview.mail_read) serves DKIM and everything read from
the mail; a mail another parser could split differently is refused. Every DKIM-Signature (five at
most) is verified with dkimpy, and a failing one outweighs a passing one. Handled as attacks, not
passes: an ``l=`` tag that leaves part of the body unsigned, a duplicated From, To, Cc, Subject,
Date or MIME header, a signature by a support domain that From: does not align with or that leaves
From, To, Subject or Date unsigned, and a key the archive says was retired at the signed date.

Ticket id, recipients, date and transaction hashes are read only from what the aligned
support-domain signature covers: the headers in its h= tag and the whole body (an ``l=`` that
stops short is refused above). Header names are never pooled across signatures.

Keys come from the archive first (same d= and s=, valid at the Date: the signature covers), then
from DNS, asked only for the exchange's own support domains. A key found nowhere is
``key_unknown``, never a failure. A signature that does not cover Date: has no date to judge
validity at, so only archived keys with no bounds apply to it; where the archive knows the
selector only with bounds, the key counts as expired. Signature expiry (``x=``) is judged at the
signed date too, so an old genuine mail does not fail for being old.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

import dkim
from dkim.canonicalization import CanonicalizationPolicy
from dkim.util import InvalidTagValueList, parse_tag_value

from incidents.ticket_patterns import TICKET_TEXT_MAX, TicketPatternError, ticket_pattern_compile
from incidents.vocabulary import CheckName
from verification.checks.common import CheckOutcome
from verification.clients.dns import dkim_txt_lookup
from verification.mailview import (
    MAX_MAIL_BYTES,
    MailFileError,
    MailReading,
    MailUnreadable,
    mail_read,
    message_text,
)
from verification.models import Outcome

SINGLETON_HEADERS = ("from", "to", "cc", "subject", "date", "content-type", "content-transfer-encoding")
REQUIRED_SIGNED = ("from", "to", "subject", "date")  # what the aligned signature must vouch for
MAX_SIGNATURES = 5  # each may cost a key lookup; real mails carry one to three
DNS_NAME_RE = re.compile(r"[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*")
SIGNATURE_HEADER_RE = re.compile(rb"(?im)^dkim-signature[ \t]*:")
# A 64-hex run standing alone: an EVM hash with 0x, a Bitcoin txid without.
TX_HASH_RE = re.compile(r"(?<![0-9A-Za-z])(0x)?([0-9a-fA-F]{64})(?![0-9A-Za-z])")
TIME_TAGS = (b"t", b"x")  # judged here at the signed date; dkimpy would judge them at today's date
# Signature results that make the mail dkim_invalid, and the reason each one gives.
FAILING = {"fail": "signature_invalid", "malformed": "signature_invalid", "key_expired": "key_expired",
           "signature_expired": "signature_expired", "body_length_tag": "body_length_tag",
           "headers_unsigned": "required_headers_unsigned"}
FLAGS = {"dkim_invalid": "mail_forged", "domain_mismatch": "mail_wrong_domain"}
# The signature verified in these three; the last two say who the mail is for and what it names.
SIGNED_STATUSES = ("dkim_verified", "recipient_mismatch", "ticket_mismatch")
DKIM_OUTCOMES = {"dkim_verified": Outcome.PASS, "dkim_invalid": Outcome.FAIL, "domain_mismatch": Outcome.FAIL,
                 "unsigned": Outcome.INCONCLUSIVE, "key_unknown": Outcome.INCONCLUSIVE}

DnsLookup = Callable[[str], bytes | None]


@dataclass(frozen=True)
class ArchivedKey:
    """One key of the incident's DKIM archive: who published it, and when it was in use."""

    domain: str
    selector: str
    public_key_b64: str  # the p= value
    valid_from: datetime | None = None
    valid_to: datetime | None = None

    def matches(self, domain: str, selector: str) -> bool:
        return _domain(self.domain) == domain and self.selector.strip().lower() == selector

    def valid_at(self, when: datetime | None) -> bool:
        """Say whether the key was in use at ``when``; with no date, only an unbounded key was."""
        if when is None:
            return self.valid_from is None and self.valid_to is None
        return ((self.valid_from is None or _aware(self.valid_from) <= when)
                and (self.valid_to is None or when <= _aware(self.valid_to)))


@dataclass
class MailFacts:
    """What the mail says about itself, and what each of its signatures turned out to be."""

    from_domain: str | None
    from_address: str | None
    date: datetime | None
    signatures: list[dict] = field(default_factory=list)


@dataclass
class SignedPart:
    """What the aligned support-domain signature vouches for; empty when no such signature verified."""

    headers: list[str] = field(default_factory=list)  # lowercased names of its h= tag
    subject: str = ""
    text: str = ""
    recipients: list[str] = field(default_factory=list)  # To and, when signed, Cc
    date: datetime | None = None


@dataclass
class MailFindings:
    """Both checks' outcomes for one mail, with the facts the report's verdict reads."""

    outcomes: list[CheckOutcome]
    ticket_status: str
    flags: set[str]
    ticket_id: str
    addressed_to_reporter: bool
    mail_date: datetime | None
    tx_hashes: list[str] = field(default_factory=list)


def mail_check(
    *, raw: bytes, support_domains: list[str], ticket_pattern: str, claimed_ticket: str,
    contact_email: str, archived_keys: list[ArchivedKey], exchange_email: str = "",
    dns_lookup: DnsLookup = dkim_txt_lookup, max_bytes: int = MAX_MAIL_BYTES,
) -> MailFindings:
    """Judge a support-ticket mail: its DKIM signatures, who signed it, who it is for, what it names."""
    try:
        reading = mail_read(raw, max_bytes=max_bytes)
    except MailUnreadable:
        if not SIGNATURE_HEADER_RE.search(bytes(raw)):
            raise
        return _refused(["header_unreadable"], claimed_ticket)  # a signed mail no two parsers read alike
    facts = mail_facts(reading)
    domains = [_domain(d) for d in support_domains]
    facts.signatures = _signatures(reading, facts.date, archived_keys, dns_lookup, domains)
    status, reasons = _dkim_status(reading, facts, domains)
    signed = _signed_part(reading, facts, domains) if status == "dkim_verified" else SignedPart()
    ticket = _ticket_outcome(signed, ticket_pattern, claimed_ticket)
    addressed = _addressed(signed.recipients, contact_email, exchange_email)
    if status == "dkim_verified" and not addressed:
        status, reasons = "recipient_mismatch", ["recipient_mismatch"]
    elif status == "dkim_verified" and ticket.outcome == Outcome.FAIL:
        status = "ticket_mismatch"
    return _findings(status, reasons, facts, signed, ticket, addressed, claimed_ticket)


def mail_facts(reading: MailReading) -> MailFacts:
    """Read sender and date from the reading; refuse a mail with no From:."""
    senders = reading.values("From")
    if not senders:
        raise MailFileError("This mail has no From: header, so it cannot be a ticket mail.")
    addresses = _addresses(senders)
    sender = addresses[0] if len(addresses) == 1 else None  # several senders align with none
    domain = _domain(sender.rsplit("@", 1)[1]) if sender else None
    return MailFacts(from_domain=domain, from_address=sender, date=_mail_date(reading))


def _mail_date(reading: MailReading) -> datetime | None:
    """Return the mail's Date: as an aware datetime (UTC when it names no zone), or None."""
    values = reading.values("Date")
    try:
        return _aware(parsedate_to_datetime(values[0])) if values else None
    except (TypeError, ValueError, IndexError):
        return None


def _signatures(reading: MailReading, date: datetime | None, archive: list[ArchivedKey],
                dns_lookup: DnsLookup, domains: list[str]) -> list[dict]:
    """Verify every DKIM-Signature of the mail, top to bottom, and describe each result."""
    headers = [h for h in reading.headers if h[0].lower() == b"dkim-signature"]
    if len(headers) > MAX_SIGNATURES:
        return [{"result": "not_checked"} for _ in headers]  # no lookups for a pile of signatures
    signer = dkim.DKIM()
    signer.headers, signer.body = reading.headers, reading.body  # the same reading, not a second parse
    return [_signature(signer, header, date, archive, dns_lookup, domains) for header in headers]


def _signature(signer: dkim.DKIM, header: list, date: datetime | None, archive: list[ArchivedKey],
               dns_lookup: DnsLookup, domains: list[str]) -> dict:
    """Verify one signature and record its domain, selector, signed headers, key source and result."""
    tags, found = _signature_tags(header)
    if tags is None:
        return found
    when = date if "date" in found["h"] else None  # an unsigned Date is anyone's word
    source, records = _keys(found, when, archive, dns_lookup, domains)
    found["key_source"] = source
    if not records:
        found["result"] = "key_expired" if source == "archive" else "key_unknown"
        return found
    found["result"], error = _verify_with(signer, header, tags, records, when)
    narrow = not set(REQUIRED_SIGNED) <= set(found["h"])
    if found["result"] == "pass" and narrow and _ours(found["d"], domains):
        found["result"], error = "headers_unsigned", f"h= must cover {', '.join(REQUIRED_SIGNED)}"
    if error:
        found["error"] = error[:200]
    return found


def _signature_tags(header: list) -> tuple[dict | None, dict]:
    """Read a signature's tags; return them with what is recorded, or None and why it is malformed."""
    try:
        tags = parse_tag_value(header[1])
        found = {"d": _domain(tags[b"d"].decode()), "s": tags[b"s"].decode().strip().lower(),
                 "l": int(tags[b"l"]) if tags.get(b"l", b"").isdigit() else None,
                 "h": [h.decode().lower() for h in re.split(rb"\s*:\s*", tags[b"h"].strip())]}
    except (InvalidTagValueList, KeyError, UnicodeDecodeError) as error:
        return None, {"result": "malformed", "key_source": "none", "error": f"unreadable tags: {error}"[:200]}
    if not (DNS_NAME_RE.fullmatch(found["d"]) and DNS_NAME_RE.fullmatch(found["s"])):
        return None, {**found, "result": "malformed", "key_source": "none", "error": "not a DNS name"}
    return tags, found


def _keys(found: dict, when: datetime | None, archive: list[ArchivedKey], dns_lookup: DnsLookup,
          domains: list[str]) -> tuple[str, list[bytes]]:
    """Return where the signing key comes from and its candidate TXT records: archive, else DNS."""
    known = [key for key in archive if key.matches(found["d"], found["s"])]
    if known:  # the archive speaks for this selector, including when it says the key had expired
        return "archive", [_txt_record(key) for key in known if key.valid_at(when)]
    if not _ours(found["d"], domains):
        return "none", []  # a domain the mail names is never one Lossproof's resolver is sent to
    started = time.monotonic()
    record = dns_lookup(f"{found['s']}._domainkey.{found['d']}")
    found["dns_ms"] = int((time.monotonic() - started) * 1000)
    return ("dns", [record]) if record else ("none", [])


def _txt_record(key: ArchivedKey) -> bytes:
    """Return the DNS TXT record that would have published an archived key."""
    p_value = re.sub(r"\s+", "", key.public_key_b64)
    # A bare Ed25519 key is 32 bytes, 44 base64 characters; an RSA key is far longer.
    kind = "ed25519" if len(p_value) == 44 else "rsa"
    return f"v=DKIM1; k={kind}; p={p_value}".encode()


def _verify_with(signer: dkim.DKIM, header: list, tags: dict, records: list[bytes],
                 when: datetime | None) -> tuple[str, str]:
    """Check the signature against each candidate key; return its result and any error text."""
    result, error = "key_unknown", ""
    for record in records:
        result, error = _verify_once(signer, header, tags, record)
        if result == "pass":
            break
    if result == "pass" and _signature_expired(tags, when):
        return "signature_expired", "x= is earlier than the mail's date or its t="
    if result == "pass" and _body_cut_short(signer, tags):
        return "body_length_tag", "l= leaves part of the body unsigned"
    return result, error


def _verify_once(signer: dkim.DKIM, header: list, tags: dict, record: bytes) -> tuple[str, str]:
    """Check one signature's hashes with one key through dkimpy."""
    try:
        dkim.evaluate_pk(b"archive", record)
    except (dkim.DKIMException, ValueError, TypeError) as error:
        return "key_unknown", f"unusable key: {error}"  # no key to judge with, not a forgery
    include = [h.lower() for h in re.split(rb"\s*:\s*", tags[b"h"].strip())]
    if b"from" not in include:
        return "fail", "From is not signed"  # RFC 6376 5.4: such a signature proves nothing
    try:
        dkim.validate_signature_fields({tag: value for tag, value in tags.items() if tag not in TIME_TAGS})
        ok = signer.verify_sig(tags, include, header, lambda name, timeout=5: record)
    except (dkim.NaClNotFoundError, dkim.UnknownKeyTypeError) as error:
        return "key_unknown", f"unsupported algorithm: {error}"
    except dkim.DKIMException as error:
        return "fail", str(error)
    return ("pass", "") if ok else ("fail", "signature does not match")


def _signature_expired(tags: dict, when: datetime | None) -> bool:
    """Say whether the signature's x= had passed when the mail was sent (or before it was signed)."""
    if b"x" not in tags:
        return False
    if not tags[b"x"].isdigit():
        return True
    expires, signed = int(tags[b"x"]), tags.get(b"t", b"")
    return (signed.isdigit() and expires < int(signed)) or (when is not None and expires < when.timestamp())


def _body_cut_short(signer: dkim.DKIM, tags: dict) -> bool:
    """Say whether an l= tag leaves part of the (canonicalized) body outside the signature."""
    if b"l" not in tags:
        return False
    policy = CanonicalizationPolicy.from_c_value(tags.get(b"c", b"simple/simple"))
    return int(tags[b"l"]) < len(policy.canonicalize_body(signer.body))


def _dkim_status(reading: MailReading, facts: MailFacts, domains: list[str]) -> tuple[str, list[str]]:
    """Return the status the signatures earn and the reasons behind it; failures outweigh passes."""
    reasons = list(reading.problems)
    reasons += ["too_many_signatures"] if len(facts.signatures) > MAX_SIGNATURES else []
    reasons += [f"duplicated_header:{name}" for name in SINGLETON_HEADERS if len(reading.values(name)) > 1]
    reasons += sorted({FAILING[s["result"]] for s in facts.signatures if s["result"] in FAILING})
    if reasons:
        return "dkim_invalid", reasons
    if not facts.signatures:
        return "unsigned", ["unsigned"]
    passing = [s for s in facts.signatures if s["result"] == "pass"]
    ours = [s for s in passing if _ours(s["d"], domains)]
    if _aligned(facts, ours):
        return "dkim_verified", []
    if ours:
        return "dkim_invalid", ["not_aligned"]
    if passing:
        return "domain_mismatch", ["domain_mismatch"]
    return "key_unknown", ["key_unknown"]


def _aligned(facts: MailFacts, ours: list[dict]) -> dict | None:
    """Return the first support-domain signature that From: aligns with, or None."""
    return next((s for s in ours if facts.from_domain and _within(facts.from_domain, s["d"])), None)


def _signed_part(reading: MailReading, facts: MailFacts, domains: list[str]) -> SignedPart:
    """Read subject, recipients, date and text from what the aligned signature covers, and nothing else."""
    ours = [s for s in facts.signatures if s["result"] == "pass" and _ours(s["d"], domains)]
    aligned = _aligned(facts, ours)
    names = aligned["h"]  # covers From, To, Subject and Date, or it would not have passed
    recipients = _addresses(reading.values("To") + (reading.values("Cc") if "cc" in names else []))
    subjects = reading.values("Subject")
    return SignedPart(headers=sorted(set(names)), subject=subjects[0] if subjects else "",
                      text=message_text(reading.message()), recipients=recipients, date=facts.date)


def _ticket_outcome(signed: SignedPart, pattern: str, claimed: str) -> CheckOutcome:
    """Find the ticket id in the signed part with the exchange's pattern; compare it with the claimed one."""
    raw = {"ticket_id": "", "pattern": pattern}
    try:  # a linear-time engine: the pattern is the admin's, the text the attacker's
        regex = ticket_pattern_compile(pattern) if pattern else None
    except TicketPatternError as error:
        raw["error"] = str(error)
        return CheckOutcome(CheckName.TICKET_ID, Outcome.ERROR, ["ticket_pattern_invalid"], raw)
    if regex is None:
        return CheckOutcome(CheckName.TICKET_ID, Outcome.INCONCLUSIVE, ["no_ticket_pattern"], raw)
    raw["ticket_id"] = found = _find_ticket(regex, signed.subject, signed.text) or ""
    wanted = (_find_ticket(regex, claimed.strip(), "") or claimed.strip()) if claimed else ""
    if not wanted:
        return CheckOutcome(CheckName.TICKET_ID, Outcome.INCONCLUSIVE, ["no_claimed_ticket"], raw)
    if not found:
        return CheckOutcome(CheckName.TICKET_ID, Outcome.FAIL, ["ticket_not_found"], raw)
    if found.casefold() != wanted.casefold():
        return CheckOutcome(CheckName.TICKET_ID, Outcome.FAIL, ["ticket_mismatch"], raw)
    return CheckOutcome(CheckName.TICKET_ID, Outcome.PASS, [], raw)


def _find_ticket(regex, subject: str, body: str) -> str | None:
    """Return the first ticket id the pattern finds in the subject, else in the body (bounded)."""
    for text in (subject, body):
        match = regex.search(text[:TICKET_TEXT_MAX])
        if match:
            return (match.group(1) if regex.groups else match.group(0)).strip()
    return None


def tx_hashes_named(text: str) -> list[str]:
    """Return every transaction hash in ``text``: 0x-hex lowercased; a bare run also as its 0x form."""
    found: list[str] = []
    for prefix, digits in TX_HASH_RE.findall(text):
        digits = digits.lower()
        forms = ["0x" + digits] if prefix else [digits, "0x" + digits]  # a bare run may be a Bitcoin txid
        found += [form for form in forms if form not in found]
    return found


def _addressed(recipients: list[str], *addresses: str) -> bool:
    """Say whether one of the reporter's addresses is among the signed recipients (case-insensitive)."""
    mine = {a.strip().casefold() for a in addresses if a and a.strip()}
    return bool(mine & {r.casefold() for r in recipients})


def _findings(status: str, reasons: list[str], facts: MailFacts, signed: SignedPart, ticket: CheckOutcome,
              addressed: bool, claimed: str) -> MailFindings:
    """Assemble both outcomes and the raw data they keep (the lead's verdict reads these keys)."""
    flags = {FLAGS[status]} if status in FLAGS else set()
    hashes = tx_hashes_named(f"{signed.subject}\n{signed.text}")
    shared = {
        "ticket_status": status, "flags": sorted(flags), "signatures": facts.signatures,
        "from": facts.from_address, "from_domain": facts.from_domain, "covered_headers": signed.headers,
        "to": signed.recipients, "subject": signed.subject, "ticket_id": ticket.raw["ticket_id"],
        "claimed_ticket": claimed or None, "signature_verified": status in SIGNED_STATUSES,
        "addressed_to_reporter": addressed, "tx_hashes": hashes,
        "mail_date": signed.date.isoformat() if signed.date else None,
    }
    outcome = DKIM_OUTCOMES["dkim_verified" if status in SIGNED_STATUSES else status]
    ticket.raw = {**shared, **ticket.raw}
    dkim_outcome = CheckOutcome(CheckName.DKIM_SIGNATURE, outcome, reasons, shared)
    return MailFindings([dkim_outcome, ticket], status, flags, ticket.raw["ticket_id"], addressed,
                        signed.date, hashes)


def _refused(reasons: list[str], claimed: str) -> MailFindings:
    """Return the findings for a signed mail that cannot be read one way only."""
    facts, signed = MailFacts(from_domain=None, from_address=None, date=None), SignedPart()
    ticket = CheckOutcome(CheckName.TICKET_ID, Outcome.INCONCLUSIVE, ["mail_unreadable"], {"ticket_id": ""})
    return _findings("dkim_invalid", reasons, facts, signed, ticket, False, claimed)


def _addresses(values: list[str]) -> list[str]:
    return [address for _, address in getaddresses(values) if "@" in address]


def _ours(domain: str, support_domains: list[str]) -> bool:
    """Say whether a signing domain is one of the exchange's support domains (or below one)."""
    return any(_within(domain, parent) for parent in support_domains)


def _within(domain: str, parent: str) -> bool:
    """Say whether ``domain`` is ``parent`` or one of its subdomains."""
    return domain == parent or domain.endswith("." + parent)


def _domain(value: str) -> str:
    return value.strip().lower().rstrip(".")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
