"""Addresses and hashes in canonical form (incidents/chains.py), EIP-55 checksums above all."""

import random

import pytest
from eth_utils import to_checksum_address

from incidents.chains import ChainValueError, eip55, normalise_address

ETHEREUM = "eip155:1"
# The test vectors of EIP-55 itself: all capitals, all lowercase, and mixed.
EIP55_VECTORS = [
    "0x52908400098527886E0F7030069857D2E4169EE7",
    "0x8617E340B3D01FA5F11F306F4090FD50E238070D",
    "0xde709f2102306220921060314715629080e2fb77",
    "0x27b1fdb04752bbc536007a920d24acb045561c26",
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
    "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
    "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
]


@pytest.mark.parametrize("address", EIP55_VECTORS)
def test_the_eip55_vectors_are_accepted_and_stored_in_lowercase(address):
    assert normalise_address(ETHEREUM, address) == address.lower()


@pytest.mark.parametrize("address", EIP55_VECTORS[4:])
def test_the_eip55_spelling_of_a_lowercase_address_is_the_vector(address):
    assert eip55(address[2:].lower()) == address


def flip(address: str, rng: random.Random) -> str:
    """The address with the case of one of its letters flipped."""
    letters = [n for n, c in enumerate(address) if n > 1 and c.isalpha()]
    n = rng.choice(letters)
    return address[:n] + address[n].swapcase() + address[n + 1:]


def test_random_addresses_agree_with_eth_utils_and_one_wrong_capital_is_refused():
    rng = random.Random(55)
    for _ in range(2_000):
        good = to_checksum_address("0x" + rng.randbytes(20).hex())
        assert normalise_address(ETHEREUM, good) == good.lower()
        assert eip55(good[2:].lower()) == good
        bad = flip(good, rng)
        if bad[2:] in (bad[2:].lower(), bad[2:].upper()):
            continue  # one case throughout carries no checksum: accepted by design
        with pytest.raises(ChainValueError, match="wrong EIP-55 checksum") as refused:
            normalise_address(ETHEREUM, bad)
        assert good in str(refused.value)  # the expected spelling, for whoever fixes the sheet


def test_a_checksum_is_read_from_the_letters_only():
    # An address of digits alone has no letter to carry a checksum: any spelling is the same one.
    assert normalise_address(ETHEREUM, "0x" + "1234567890" * 4) == "0x" + "1234567890" * 4
    # One capital where the hash says lowercase is refused even when all other letters are right.
    address = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    with pytest.raises(ChainValueError):
        normalise_address(ETHEREUM, address[:3] + "A" + address[4:])
