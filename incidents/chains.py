"""What a chain id, an address and a transaction hash look like on each supported chain family."""

import re

from eth_utils import is_checksum_address, to_checksum_address

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
    has_mixed_case = address[2:] != address[2:].lower() and address[2:] != address[2:].upper()
    if has_mixed_case and not is_checksum_address(address):
        raise ChainValueError(
            f"{address!r} has a wrong EIP-55 checksum (expected {to_checksum_address(address)})"
        )
    return address.lower()


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
