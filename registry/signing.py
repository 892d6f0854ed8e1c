"""The Ed25519 key that signs releases: loading it, its public half, signing and verifying."""

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

RAW = serialization.Encoding.Raw


def signing_key() -> Ed25519PrivateKey:
    """Return the configured signing key, creating the development key on first use."""
    if settings.EXPORT_SIGNING_KEY:
        return _parse_private(settings.EXPORT_SIGNING_KEY, "EXPORT_SIGNING_KEY")
    if not settings.DEBUG:
        # A key generated inside a production container would change with every rebuild, and
        # journalists would check releases against a key nobody published.
        raise ImproperlyConfigured("EXPORT_SIGNING_KEY must be set when DEBUG is off "
                                   "(see docs/operations.md, \"Release signing key\").")
    return _dev_key(Path(settings.EXPORT_DEV_KEY_PATH))


def configured_public_key() -> Ed25519PublicKey | None:
    """Return the public half of the configured key without creating one; None when there is none."""
    if settings.EXPORT_SIGNING_KEY:
        return _parse_private(settings.EXPORT_SIGNING_KEY, "EXPORT_SIGNING_KEY").public_key()
    path = Path(settings.EXPORT_DEV_KEY_PATH)
    if not path.exists():
        return None
    return _parse_private(path.read_text(), f"EXPORT_DEV_KEY_PATH ({path})").public_key()


def _parse_private(value: str, name: str) -> Ed25519PrivateKey:
    """Read an Ed25519 private key from PEM or from the base64 of its 32 raw bytes."""
    text = value.strip().replace("\\n", "\n")  # one-line env files carry PEM newlines as "\n"
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        # Never echo the value: it is a secret.
        raise ImproperlyConfigured(f"{name} is not an Ed25519 private key "
                                   "(PEM, or base64 of the 32 raw bytes).")
    return key


def _dev_key(path: Path) -> Ed25519PrivateKey:
    """Load the development key at ``path``, generating it (0600 in a 0700 folder) the first time."""
    if path.exists():
        return _parse_private(path.read_text(), f"EXPORT_DEV_KEY_PATH ({path})")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _parse_private(path.read_text(), f"EXPORT_DEV_KEY_PATH ({path})")
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def parse_public_key(value: str) -> Ed25519PublicKey:
    """Read an Ed25519 public key from PEM, a PEM file's path, or the base64 of its 32 raw bytes."""
    text = value.strip()
    if not text.startswith("-----BEGIN") and Path(text).is_file():
        text = Path(text).read_text().strip()
    try:
        if text.startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key (PEM, a PEM file, or base64 of the 32 raw bytes)")
    return key


def public_key_b64(key: Ed25519PublicKey) -> str:
    """Return the base64 of the key's 32 raw bytes, the one-line form to publish."""
    return base64.b64encode(key.public_bytes(RAW, serialization.PublicFormat.Raw)).decode()


def public_key_pem(key: Ed25519PublicKey) -> str:
    """Return the key as a PEM SubjectPublicKeyInfo block (what openssl reads)."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.PEM, spki).decode()


def sign(data: bytes, key: Ed25519PrivateKey) -> str:
    """Sign ``data`` and return the base64 signature."""
    return base64.b64encode(key.sign(data)).decode()


def signature_valid(data: bytes, signature_b64: str, key: Ed25519PublicKey) -> bool:
    """Tell whether ``signature_b64`` is the canonical base64 of the key's signature over ``data``."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, data)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    # base64 decoding ignores the spare low bits of a last character: demand the canonical text,
    # so that no byte of manifest.sig can change unnoticed.
    return base64.b64encode(signature).decode() == signature_b64
