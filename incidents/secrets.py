"""Refuse secrets before anything is stored: Lossproof never asks for them (docs/threat-model.md)."""

import hashlib
import math
import re
from collections import Counter
from functools import cache
from importlib import resources

from django.utils.translation import gettext_lazy as _

SECRET_NOTICE = _(
    "Lossproof never asks for your exchange API secret, a password, a seed phrase (recovery words) "
    "or a private key, and refuses anything that looks like one. Never send them to anyone."
)

_NOT_SAVED = _("It was not saved. Remove it and try again.")
MESSAGES = {
    "seed_phrase": _("This looks like a seed phrase (recovery words). Lossproof never needs it: "
                     "anyone who has it can take everything in the wallet."),
    "hex_key": _("This looks like a private key (64 hexadecimal characters). Lossproof never needs "
                 "it: anyone who has it controls the wallet. If it is a transaction hash, enter it in "
                 "the transfers step, where it is checked, and leave it out here."),
    "wif_key": _("This looks like a Bitcoin private key (WIF format). Lossproof never needs it: "
                 "anyone who has it controls the coins."),
    "extended_key": _("This looks like an extended private key (xprv, yprv, zprv…). Lossproof never "
                      "needs it: anyone who has it controls every address of the wallet."),
    "pem_key": _("This contains a private key block (BEGIN … PRIVATE KEY). Lossproof never needs "
                 "it: anyone who has it can act as its owner."),
    "api_secret": _("This looks like an exchange API secret (a long random code). Lossproof never "
                    "needs it: anyone who has it can trade from your account. If you still have the "
                    "key, delete it at the exchange."),
    "labelled": _("This looks like a password or secret (a value after “password:”, “secret:” or "
                  "similar). Lossproof never needs it. If it is not one, write it without the label."),
}

BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58 = f"[{BASE58}]"
SEED_WORDS = 12  # the shortest BIP39 phrase
TOKEN_MIN = 32
BASE58_PLAIN_MAX = 52
ENTROPY_MIN = 4.2  # bits per character; random keys score near 5, words and ids below 4

WORD = re.compile(r"[a-z]+")
HEX_KEY = re.compile(r"(?<![0-9A-Za-z])(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])")
WIF = re.compile(rf"(?<!{_B58})[5KL]{_B58}{{50,51}}(?!{_B58})")
EXTENDED = re.compile(rf"(?<![0-9A-Za-z])[xyztuvYZUV]prv{_B58}{{100,115}}(?![0-9A-Za-z])")
PEM = re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
# LABELLED and WORD_RUN run on lower-cased text: a case-insensitive regex is several times slower.
LABELLED = re.compile(
    r"(?<![a-z])(?:api[\s_-]*secret|secret(?:[\s_-]*key)?|private[\s_-]*key|password|passphrase|passwd)"
    r"[\"']?\s*[:=]\s*[\"']?(?=[^\s\"',;]*[a-z0-9])[^\s\"',;]{4,}"
)
# Runs of at least twelve 3-to-8-letter words (the lengths of BIP39 words) with short gaps of
# digits, punctuation or space between them; only these are looked up in the word list.
WORD_RUN = re.compile(r"(?<![a-z])(?:[a-z]{3,8}[^a-z]{1,16}){11,}[a-z]{3,8}(?![a-z])")
TOKEN = re.compile(rf"(?<![\w+/=-])[\w+/=-]{{{TOKEN_MIN},}}")
URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)
ETH_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
MONERO_ADDRESS = re.compile(rf"[48]{_B58}{{94}}|[48]{_B58}{{105}}")
LOWER, UPPER, DIGIT = re.compile(r"[a-z]"), re.compile(r"[A-Z]"), re.compile(r"\d")
# No rule above matches fewer characters than TOKEN_MIN (WIF 51, WORD_RUN 47, HEX_KEY 64, EXTENDED
# 104), except those that need one of these words: LABELLED (api secret, secret key, private key,
# password, passphrase, passwd) and PEM (PRIVATE KEY). Shorter text without them is let through
# unscanned: a sheet import checks hundreds of thousands of short cells (names, amounts, ids).
SHORT_SAFE = TOKEN_MIN
LABEL_WORD = re.compile(r"secret|private|pass", re.IGNORECASE)


class SecretRefused(ValueError):
    """Input that looks like a secret; the message says what it looked like, never the value."""

    status = 400

    def __init__(self, kind: str):
        self.kind = kind
        super().__init__(f"{MESSAGES[kind]} {_NOT_SAVED}")


def secret_check_text(text: str) -> None:
    """Refuse free text that holds a seed phrase, a private key, an API secret or a password."""
    secret_check_common(text)
    secret_check_shapes(text)


def _cannot_hold_one(text: str) -> bool:
    return len(text) < SHORT_SAFE and not LABEL_WORD.search(text)


def secret_check_shapes(text: str) -> None:
    """Refuse a 64-hex value (a possible private key) or a random-looking token (a possible API secret)."""
    if _cannot_hold_one(text):
        return
    if HEX_KEY.search(text):
        raise SecretRefused("hex_key")
    if any(_looks_random(token) for token in TOKEN.findall(URL.sub(" ", text))):
        raise SecretRefused("api_secret")


def secret_check_common(text: str) -> None:
    """Refuse what no random-looking content matches by chance: key blocks, WIF, xprv, labels, seeds."""
    if _cannot_hold_one(text):
        return
    if PEM.search(text):
        raise SecretRefused("pem_key")
    if EXTENDED.search(text):
        raise SecretRefused("extended_key")
    if any(_wif_valid(match.group()) for match in WIF.finditer(text)):
        raise SecretRefused("wif_key")
    lowered = text.lower()
    if LABELLED.search(lowered):
        raise SecretRefused("labelled")
    if any(_has_seed_phrase(run.group()) for run in WORD_RUN.finditer(lowered)):
        raise SecretRefused("seed_phrase")


@cache
def bip39_words() -> frozenset[str]:
    """Return the English BIP39 word list (shipped with eth_account)."""
    path = resources.files("eth_account") / "hdaccount" / "wordlist" / "english.txt"
    return frozenset(path.read_text(encoding="utf-8").split())


def _has_seed_phrase(lowered: str) -> bool:
    # Digits and punctuation between words ("1. abandon 2. ability") do not break a run; any
    # other word does, which keeps ordinary sentences with a few list words out.
    words, run = bip39_words(), 0
    for word in WORD.findall(lowered):
        run = run + 1 if word in words else 0
        if run >= SEED_WORDS:
            return True
    return False


def base58_decode(text: str) -> bytes:
    """Decode base58 (Bitcoin alphabet), keeping leading zero bytes."""
    number = 0
    for char in text:
        number = number * 58 + BASE58.index(char)
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def _base58check_payload(text: str) -> bytes | None:
    raw = base58_decode(text)
    payload, checksum = raw[:-4], raw[-4:]
    return payload if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum else None


def _wif_valid(text: str) -> bool:
    payload = _base58check_payload(text)
    return payload is not None and payload[:1] == b"\x80" and (
        len(payload) == 33 or (len(payload) == 34 and payload[-1] == 1))


def _looks_random(token: str) -> bool:
    """Tell an API-secret-like token from addresses, hashes and ordinary identifiers."""
    if not (LOWER.search(token) and UPPER.search(token) and DIGIT.search(token)):
        return False  # bech32 addresses and lower-case hashes
    if _is_address(token):
        return False
    counts = Counter(token)
    entropy = -sum(n / len(token) * math.log2(n / len(token)) for n in counts.values())
    return entropy >= ENTROPY_MIN


def _is_address(token: str) -> bool:
    # Checksummed Ethereum addresses mix cases; base58 public keys and addresses of other chains
    # (Solana, Polkadot, Tron, Bitcoin legacy) stay under 49 characters and Monero's are longer.
    # Up to WIF length, base58 is let through: a real WIF key has already been refused by its
    # checksum, and Binance-style secrets are 64 characters long.
    if ETH_ADDRESS.fullmatch(token) or MONERO_ADDRESS.fullmatch(token):
        return True
    return all(char in BASE58 for char in token) and len(token) <= BASE58_PLAIN_MAX
