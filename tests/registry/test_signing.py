"""The release signing key: its two accepted forms, the development key, and clear failures."""

import base64
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import ImproperlyConfigured

from registry import signing


def raw_b64(key: Ed25519PrivateKey) -> str:
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


@pytest.mark.parametrize("form", [raw_b64, pem, lambda key: pem(key).replace("\n", "\\n")])
def test_it_reads_the_key_as_base64_raw_or_pem(settings, form):
    key = Ed25519PrivateKey.generate()
    settings.EXPORT_SIGNING_KEY = form(key)

    loaded = signing.signing_key()

    assert signing.public_key_b64(loaded.public_key()) == signing.public_key_b64(key.public_key())


@pytest.mark.parametrize("value", ["not a key", base64.b64encode(b"short").decode(),
                                   "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"])
def test_a_bad_key_fails_naming_the_variable_without_echoing_it(settings, value):
    settings.EXPORT_SIGNING_KEY = value

    with pytest.raises(ImproperlyConfigured, match="EXPORT_SIGNING_KEY") as caught:
        signing.signing_key()
    assert value not in str(caught.value)


def test_without_a_key_it_makes_a_private_development_key_once_and_reuses_it(settings, tmp_path):
    settings.DEBUG, settings.EXPORT_SIGNING_KEY = True, ""
    settings.EXPORT_DEV_KEY_PATH = tmp_path / "keys" / "dev.pem"

    first, second = signing.signing_key(), signing.signing_key()

    assert signing.public_key_b64(first.public_key()) == signing.public_key_b64(second.public_key())
    assert stat.S_IMODE((tmp_path / "keys" / "dev.pem").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    configured = signing.configured_public_key()
    assert signing.public_key_b64(configured) == signing.public_key_b64(first.public_key())


def test_without_a_key_and_debug_off_it_refuses_to_invent_one(settings, tmp_path):
    settings.DEBUG, settings.EXPORT_SIGNING_KEY = False, ""
    settings.EXPORT_DEV_KEY_PATH = tmp_path / "dev.pem"

    with pytest.raises(ImproperlyConfigured, match="EXPORT_SIGNING_KEY must be set"):
        signing.signing_key()
    assert not (tmp_path / "dev.pem").exists()
    assert signing.configured_public_key() is None


def test_a_public_key_is_read_from_pem_a_pem_file_or_base64(tmp_path):
    public = Ed25519PrivateKey.generate().public_key()
    (tmp_path / "key.pem").write_text(signing.public_key_pem(public))
    expected = signing.public_key_b64(public)

    for value in [signing.public_key_pem(public), str(tmp_path / "key.pem"), expected]:
        assert signing.public_key_b64(signing.parse_public_key(value)) == expected
    with pytest.raises(ValueError, match="not an Ed25519 public key"):
        signing.parse_public_key("AAAA")


def test_a_signature_verifies_only_over_the_same_bytes_with_the_same_key():
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    signature = signing.sign(b"manifest", key)

    assert signing.signature_valid(b"manifest", signature, key.public_key())
    assert not signing.signature_valid(b"manifesT", signature, key.public_key())
    assert not signing.signature_valid(b"manifest", signature, other.public_key())
    assert not signing.signature_valid(b"manifest", "not base64!", key.public_key())


def test_a_signature_with_changed_spare_bits_in_its_last_character_is_refused():
    key = Ed25519PrivateKey.generate()
    signature = signing.sign(b"manifest", key)  # 64 bytes: 86 characters + "==", 4 spare bits
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = alphabet.index(signature[85])
    twin = signature[:85] + alphabet[last ^ 1] + "=="

    assert base64.b64decode(twin) == base64.b64decode(signature)
    assert not signing.signature_valid(b"manifest", twin, key.public_key())
