"""Proofs of ownership: a signed wallet challenge (EIP-191) and leaked-key membership by hash.

Pure functions: the caller supplies the report's challenge text and the incident's hashes.
"""

import hashlib
import hmac
import re

from django.conf import settings

from incidents.vocabulary import CheckName
from verification.checks.common import CheckOutcome
from verification.models import Outcome

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SIGNATURE_RE = re.compile(r"^0x[0-9a-fA-F]{130}$")


def report_secret(report_id: int, purpose: str) -> str:
    """Return a keyed hash of a report id; the key (SECRET_KEY) never sits in the database."""
    message = f"{purpose}:{report_id}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def ownership_challenge(*, report_id: int, incident_slug: str, address: str) -> str:
    """Return the text a victim signs with their wallet; it names this report and no other."""
    return (
        "Lossproof proof of ownership\n"
        f"Incident: {incident_slug}\n"
        f"Report: {report_secret(report_id, 'report-ref')[:16]}\n"
        f"Address: {address.lower()}\n"
        f"Nonce: {report_secret(report_id, 'ownership-nonce')[:24]}\n"
        "Signing this costs nothing and gives no one access to your funds."
    )


def signature_check(*, challenge: str, address: str, signature: str) -> CheckOutcome:
    """Pass when ``signature`` over ``challenge`` (EIP-191 personal message) recovers ``address``."""
    raw = {"address": address.lower(), "challenge": challenge}
    if not SIGNATURE_RE.match(signature or ""):
        return CheckOutcome(CheckName.OWNERSHIP_SIGNATURE, Outcome.FAIL, ["signature_malformed"], raw)
    # Imported here: eth_account precomputes pairing tables on import (0.4 s of CPU), which every
    # command and worker paid at start whether or not it ever checked a signature.
    from eth_account import Account
    from eth_account.messages import encode_defunct

    try:
        signer = Account.recover_message(encode_defunct(text=challenge), signature=signature)
    except Exception:
        return CheckOutcome(CheckName.OWNERSHIP_SIGNATURE, Outcome.FAIL, ["signature_invalid"], raw)
    raw["recovered"] = signer.lower()
    if signer.lower() != address.lower():
        return CheckOutcome(CheckName.OWNERSHIP_SIGNATURE, Outcome.FAIL, ["signer_mismatch"], raw)
    return CheckOutcome(CheckName.OWNERSHIP_SIGNATURE, Outcome.PASS, [], raw)


def leaked_key_check(*, key_hash: str, leaked: set[str]) -> CheckOutcome:
    """Pass when the browser-made hash of the reporter's API-key id is among the leaked ones."""
    key_hash = (key_hash or "").strip().lower()
    if not SHA256_RE.match(key_hash):
        return CheckOutcome(CheckName.LEAKED_KEY_MEMBERSHIP, Outcome.FAIL, ["hash_malformed"], {})
    raw = {"key_hash": key_hash, "leaked_hashes_known": len(leaked)}
    if key_hash in leaked:
        return CheckOutcome(CheckName.LEAKED_KEY_MEMBERSHIP, Outcome.PASS, [], raw)
    return CheckOutcome(CheckName.LEAKED_KEY_MEMBERSHIP, Outcome.FAIL, ["not_in_leak"], raw)
