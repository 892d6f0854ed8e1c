"""Checks of a support-ticket mail (.eml) (DESIGN.md, "Support-ticket evidence").

Pure functions: they take the raw mail, the exchange's support domains and ticket pattern, the
incident's DKIM key archive and a DNS lookup (the one outside call, replaced in tests), and return
the outcomes ``dkim_signature`` and ``ticket_id`` with the raw data they judged, the ticket status
and the report flags. Nothing here reads the database.

Every DKIM-Signature is verified with dkimpy, and a failing one outweighs a passing one. Handled
as attacks, not passes: an ``l=`` tag that leaves part of the body unsigned, a duplicated From,
To, Subject or Date, a signature by a support domain that From: does not align with, and a key
the archive says was retired when the mail was sent.

Keys come from the archive first (same d= and s=, valid at the mail's own Date:), then from DNS.
A key found nowhere is ``key_unknown``, never a failure. A mail without a usable Date: header
has no date to judge validity at, so only archived keys with no bounds apply to it; where the
archive knows the selector only with bounds, the key counts as expired. Signature expiry (``x=``)
is judged at the mail's date too, so an old genuine mail does not fail for being old.
"""

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import getaddresses, parsedate_to_datetime

import dkim
from dkim.canonicalization import CanonicalizationPolicy
from dkim.util import InvalidTagValueList, parse_tag_value

from verification.checks.transfers import CheckOutcome
from verification.clients.dns import dkim_txt_lookup
from verification.mailview import MAX_MAIL_BYTES, MailFileError, header_values, mail_parse, message_text
from verification.models import Outcome

SINGLETON_HEADERS = ("from", "to", "subject", "date")
DNS_NAME_RE = re.compile(r"[a-z0-9_-]{1,63}(\.[a-z0-9_-]{1,63})*")
TIME_TAGS = (b"t", b"x")  # judged here at the mail's date; dkimpy would judge them at today's date
# Signature results that make the mail dkim_invalid, and the reason each one gives.
FAILING = {"fail": "signature_invalid", "malformed": "signature_invalid", "key_expired": "key_expired",
           "signature_expired": "signature_expired", "body_length_tag": "body_length_tag"}
FLAGS = {"dkim_invalid": "mail_forged", "domain_mismatch": "mail_wrong_domain"}
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
    to_addresses: list[str]
    subject: str
    date: datetime | None
    ticket_id: str | None = None
    signatures: list[dict] = field(default_factory=list)
    from_address: str | None = None


@dataclass
class MailFindings:
    """Both checks' outcomes for one mail, with the facts the report's ticket status needs."""

    outcomes: list[CheckOutcome]
    ticket_status: str
    flags: set[str]
    ticket_id: str | None
    to_matches_contact: bool
    mail_date: datetime | None


def mail_check(
    *, raw: bytes, support_domains: list[str], ticket_pattern: str, claimed_ticket: str,
    contact_email: str, archived_keys: list[ArchivedKey], dns_lookup: DnsLookup = dkim_txt_lookup,
    max_bytes: int = MAX_MAIL_BYTES,
) -> MailFindings:
    """Judge a support-ticket mail: its DKIM signatures, who signed it and the ticket it cites."""
    message = mail_parse(raw, max_bytes=max_bytes)
    facts = mail_facts(message)
    facts.signatures = _signatures(raw, message, facts.date, archived_keys, dns_lookup)
    status, reasons = _dkim_status(message, facts, [_domain(d) for d in support_domains])
    ticket = _ticket_outcome(message, facts, status, ticket_pattern, claimed_ticket)
    facts.ticket_id = ticket.raw["ticket_id"]
    if status == "dkim_verified" and ticket.outcome == Outcome.FAIL:
        status = "ticket_mismatch"
    flags = {FLAGS[status]} if status in FLAGS else set()
    to_matches = contact_email.strip().casefold() in {a.casefold() for a in facts.to_addresses}
    shared = _shared_raw(facts, status, flags, claimed_ticket, to_matches)
    dkim_outcome = CheckOutcome("dkim_signature", DKIM_OUTCOMES[_dkim_part(status)], reasons, shared)
    ticket.raw = {**shared, **ticket.raw}
    return MailFindings([dkim_outcome, ticket], status, flags, facts.ticket_id, to_matches, facts.date)


def mail_facts(message: EmailMessage) -> MailFacts:
    """Read sender, recipients, subject and date from a parsed mail; refuse a mail with no From:."""
    senders = header_values(message, "From")
    if not senders:
        raise MailFileError("This mail has no From: header, so it cannot be a ticket mail.")
    addresses = [address for _, address in getaddresses(senders) if "@" in address]
    sender = addresses[0] if len(addresses) == 1 else None  # several senders align with none
    subjects = header_values(message, "Subject")
    return MailFacts(
        from_domain=_domain(sender.rsplit("@", 1)[1]) if sender else None, from_address=sender,
        to_addresses=[a for _, a in getaddresses(header_values(message, "To")) if "@" in a],
        subject=subjects[0] if subjects else "", date=_mail_date(message),
    )


def _mail_date(message: EmailMessage) -> datetime | None:
    """Return the mail's Date: as an aware datetime (UTC when it names no zone), or None."""
    values = header_values(message, "Date")
    try:
        return _aware(parsedate_to_datetime(values[0])) if values else None
    except (TypeError, ValueError, IndexError):
        return None


def _signatures(raw: bytes, message: EmailMessage, when: datetime | None, archive: list[ArchivedKey],
                dns_lookup: DnsLookup) -> list[dict]:
    """Verify every DKIM-Signature of the mail, top to bottom, and describe each result."""
    try:
        signer = dkim.DKIM(bytes(raw))
    except dkim.DKIMException as error:
        # Headers dkimpy cannot read are headers no signature can vouch for.
        return [{"result": "malformed", "error": str(error)[:200]}
                for _ in header_values(message, "DKIM-Signature")]
    headers = [h for h in signer.headers if h[0].lower() == b"dkim-signature"]
    return [_signature(signer, header, when, archive, dns_lookup) for header in headers]


def _signature(signer: dkim.DKIM, header: list, when: datetime | None, archive: list[ArchivedKey],
               dns_lookup: DnsLookup) -> dict:
    """Verify one signature and record its domain, selector, key source, l= value and result."""
    try:
        tags = parse_tag_value(header[1])
        found = {"d": _domain(tags[b"d"].decode()), "s": tags[b"s"].decode().strip().lower(),
                 "l": int(tags[b"l"]) if tags.get(b"l", b"").isdigit() else None,
                 "h": [h.decode().lower() for h in re.split(rb"\s*:\s*", tags[b"h"].strip())]}
    except (InvalidTagValueList, KeyError, UnicodeDecodeError) as error:
        return {"result": "malformed", "key_source": "none", "error": f"unreadable tags: {error}"[:200]}
    if not (DNS_NAME_RE.fullmatch(found["d"]) and DNS_NAME_RE.fullmatch(found["s"])):
        return {**found, "result": "malformed", "key_source": "none", "error": "not a DNS name"}
    source, records = _keys(found["d"], found["s"], when, archive, dns_lookup, found)
    found["key_source"] = source
    if not records:
        found["result"] = "key_expired" if source == "archive" else "key_unknown"
        return found
    found["result"], error = _verify_with(signer, header, tags, records, when)
    if error:
        found["error"] = error[:200]
    return found


def _keys(domain: str, selector: str, when: datetime | None, archive: list[ArchivedKey],
          dns_lookup: DnsLookup, found: dict) -> tuple[str, list[bytes]]:
    """Return where the signing key comes from and its candidate TXT records: archive, else DNS."""
    known = [key for key in archive if key.matches(domain, selector)]
    if known:  # the archive speaks for this selector, including when it says the key had expired
        return "archive", [_txt_record(key) for key in known if key.valid_at(when)]
    started = time.monotonic()
    record = dns_lookup(f"{selector}._domainkey.{domain}")
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


def _dkim_status(
    message: EmailMessage, facts: MailFacts, support_domains: list[str]
) -> tuple[str, list[str]]:
    """Return the status the signatures earn and the reasons behind it; failures outweigh passes."""
    reasons = [f"duplicated_header:{name}" for name in SINGLETON_HEADERS
               if len(header_values(message, name)) > 1]
    reasons += sorted({FAILING[s["result"]] for s in facts.signatures if s["result"] in FAILING})
    if reasons:
        return "dkim_invalid", reasons
    if not facts.signatures:
        return "unsigned", ["unsigned"]
    passing = [s for s in facts.signatures if s["result"] == "pass"]
    ours = [s for s in passing if any(_within(s["d"], domain) for domain in support_domains)]
    if any(facts.from_domain and _within(facts.from_domain, s["d"]) for s in ours):
        return "dkim_verified", []
    if ours:
        return "dkim_invalid", ["not_aligned"]
    if passing:
        return "domain_mismatch", ["domain_mismatch"]
    return "key_unknown", ["key_unknown"]


def _ticket_outcome(message: EmailMessage, facts: MailFacts, status: str, pattern: str,
                    claimed: str) -> CheckOutcome:
    """Find the ticket id with the exchange's pattern and compare it with the claimed one."""
    raw = {"ticket_id": None, "pattern": pattern}
    try:
        regex = re.compile(pattern) if pattern else None
    except re.error as error:
        raw["error"] = str(error)
        return CheckOutcome("ticket_id", Outcome.ERROR, ["ticket_pattern_invalid"], raw)
    if regex is None:
        return CheckOutcome("ticket_id", Outcome.INCONCLUSIVE, ["no_ticket_pattern"], raw)
    raw["ticket_id"] = found = _find_ticket(regex, _trusted_subject(facts, status), message_text(message))
    wanted = (_find_ticket(regex, claimed.strip(), "") or claimed.strip()) if claimed else ""
    if not wanted:
        return CheckOutcome("ticket_id", Outcome.INCONCLUSIVE, ["no_claimed_ticket"], raw)
    if found is None:
        return CheckOutcome("ticket_id", Outcome.FAIL, ["ticket_not_found"], raw)
    if found.casefold() != wanted.casefold():
        return CheckOutcome("ticket_id", Outcome.FAIL, ["ticket_mismatch"], raw)
    return CheckOutcome("ticket_id", Outcome.PASS, [], raw)


def _trusted_subject(facts: MailFacts, status: str) -> str:
    """Return the subject, unless the mail verifies but no verifying signature covers it."""
    if status != "dkim_verified":
        return facts.subject  # nothing is trusted then; the id is only noted
    signed = {name for s in facts.signatures if s["result"] == "pass" for name in s["h"]}
    # Otherwise anyone could write a ticket id into the subject of a genuine mail.
    return facts.subject if "subject" in signed else ""


def _find_ticket(regex: re.Pattern, subject: str, body: str) -> str | None:
    """Return the first ticket id the pattern finds in the subject, else in the body."""
    for text in (subject, body):
        match = regex.search(text)
        if match:
            return (match.group(1) if regex.groups else match.group(0)).strip()
    return None


def _shared_raw(facts: MailFacts, status: str, flags: set[str], claimed: str, to_matches: bool) -> dict:
    """Return the raw data both outcomes keep: signatures, headers, ticket ids and the status."""
    return {
        "ticket_status": status, "flags": sorted(flags), "signatures": facts.signatures,
        "from": facts.from_address, "from_domain": facts.from_domain, "to": facts.to_addresses,
        "subject": facts.subject, "date": facts.date.isoformat() if facts.date else None,
        "ticket_id": facts.ticket_id, "claimed_ticket": claimed or None, "to_matches_contact": to_matches,
    }


def _dkim_part(status: str) -> str:
    """Return the signature status behind a ticket status (a ticket mismatch is a verified mail)."""
    return "dkim_verified" if status == "ticket_mismatch" else status


def _within(domain: str, parent: str) -> bool:
    """Say whether ``domain`` is ``parent`` or one of its subdomains."""
    return domain == parent or domain.endswith("." + parent)


def _domain(value: str) -> str:
    return value.strip().lower().rstrip(".")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
