"""DNS TXT lookups for DKIM public keys: the only way Lossproof asks DNS anything.

``dkim_txt_lookup(name)`` answers ``<selector>._domainkey.<domain>`` with the TXT record's bytes,
or ``None`` when DNS has no such record or does not answer in time. It never raises: for the mail
check a key DNS cannot give is ``key_unknown``, never a failure, and re-checking later may find it.
Tests replace this function, because the real thing is the internet.
"""

import dns.exception
import dns.resolver


def dkim_txt_lookup(name: str, *, timeout: float = 2.0) -> bytes | None:
    """Return the DKIM key record published at ``name``, or None when there is none to be had."""
    absolute = name if name.endswith(".") else name + "."  # never tried against search domains
    try:
        answer = dns.resolver.resolve(absolute, "TXT", lifetime=timeout, search=False)
    except (dns.exception.DNSException, OSError, ValueError, UnicodeError):
        return None  # NXDOMAIN, no answer, timeout, no resolver configured, unusable name
    records = [b"".join(rdata.strings) for rdata in answer]
    # A name may carry other TXT records besides the key; the key is the one with a p= tag.
    return next((record for record in records if b"p=" in record), records[0] if records else None)
