"""What a chain id, an address and a transaction hash look like on each supported chain family."""

import re
from functools import cache

CAIP2_RE = re.compile(r"^(?P<namespace>[-a-z0-9]{3,8}):(?P<reference>[-_a-zA-Z0-9]{1,32})$")
EVM_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")
HASH32_RE = re.compile(r"^(0x)?[0-9a-fA-F]{64}$")
BTC_BECH32_RE = re.compile(r"^(bc|tb|bcrt)1[02-9ac-hj-np-z]{8,87}$")
BTC_BASE58_RE = re.compile(r"^[123mn][1-9A-HJ-NP-Za-km-z]{25,34}$")
SUPPORTED_NAMESPACES = ("eip155", "bip122")


class ChainValueError(ValueError):
    """A chain id, address or hash that is not valid for its chain."""


def normalise_caip2(value: str) -> str:
    """Return a supported CAIP-2 chain id unchanged, or raise ChainValueError."""
    match = CAIP2_RE.fullmatch(value or "")
    if not match:
        raise ChainValueError(f"{value!r} is not a CAIP-2 chain id such as eip155:1")
    if match["namespace"] not in SUPPORTED_NAMESPACES:
        raise ChainValueError(f"{value!r}: only eip155 (EVM) and bip122 (Bitcoin) chains are supported")
    if match["namespace"] == "eip155" and not match["reference"].isdigit():
        raise ChainValueError(f"{value!r}: an eip155 chain reference is a decimal chain id")
    return value


def namespace(caip2: str) -> str:
    return caip2.split(":", 1)[0]


def normalise_address(caip2: str, address: str) -> str:
    """Return the canonical form of an address on ``caip2`` (EVM: lowercase hex)."""
    address = (address or "").strip()
    if namespace(caip2) == "eip155":
        return _normalise_evm_address(address)
    if BTC_BECH32_RE.fullmatch(address.lower()):
        return address.lower()
    if BTC_BASE58_RE.fullmatch(address):
        return address
    raise ChainValueError(f"{address!r} is not a Bitcoin address")


def _normalise_evm_address(address: str) -> str:
    if not EVM_ADDRESS_RE.fullmatch(address):
        raise ChainValueError(f"{address!r} is not an EVM address (0x and 40 hex digits)")
    digits, lower = address[2:], address[2:].lower()
    if digits != lower and digits != digits.upper() and not _eip55_valid(digits, lower):
        raise ChainValueError(f"{address!r} has a wrong EIP-55 checksum (expected {eip55(lower)})")
    return address.lower()


# EIP-55 writes a letter in capitals where the keccak-256 of the lowercase hex has a nibble of 8 or
# more. Read as hex with each letter mapped to 8 and each digit to 0, the letters of an address
# form a mask; the check is then integer arithmetic, not a loop over 40 characters (a sheet of
# 100,000 rows checks 100,000 addresses: 7 µs each this way, most of it the keccak call; 20 µs
# through eth_utils).
_CAPITALS = str.maketrans("0123456789abcdefABCDEF", "0000000000000000888888")
_LETTERS = str.maketrans("0123456789abcdefABCDEF", "0000000000888888888888")
_HIGH_BITS = int("8" * 40, 16)  # the top bit of each of the first 40 nibbles of the hash


@cache
def _keccak():
    from eth_hash.auto import keccak  # 40 ms to load: only a mixed-case address needs it

    return keccak


def _eip55_valid(digits: str, lower: str) -> bool:
    """Tell whether the capitals of ``digits`` (40 hex digits) are the EIP-55 checksum of ``lower``."""
    letters = int(digits.translate(_LETTERS), 16)
    return int(digits.translate(_CAPITALS), 16) == _capitals(lower) & letters


def _capitals(lower: str) -> int:
    """The nibbles (8 or 0) that EIP-55 writes in capitals where the digit is a letter."""
    return int.from_bytes(_keccak()(lower.encode("ascii"))[:20], "big") & _HIGH_BITS


def eip55(lower: str) -> str:
    """Return the EIP-55 spelling of an address given as 40 lowercase hex digits (no 0x)."""
    mask = f"{_capitals(lower):040x}"
    return "0x" + "".join(c.upper() if m == "8" else c for c, m in zip(lower, mask, strict=True))


def normalise_tx_hash(caip2: str, tx_hash: str) -> str:
    """Return a transaction hash in canonical form: EVM 0x-prefixed lowercase, Bitcoin bare."""
    tx_hash = (tx_hash or "").strip()
    if not HASH32_RE.fullmatch(tx_hash):
        raise ChainValueError(f"{tx_hash!r} is not a transaction hash (64 hex digits)")
    bare = tx_hash.lower().removeprefix("0x")
    if namespace(caip2) == "eip155":
        return "0x" + bare
    if tx_hash.lower().startswith("0x"):
        raise ChainValueError(f"{tx_hash!r}: Bitcoin transaction ids carry no 0x prefix")
    return bare
