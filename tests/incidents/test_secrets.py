"""Lossproof never takes a secret: seed phrases, private keys, API secrets and passwords are refused."""

import base64
import hashlib
import io
import random
from functools import partial

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from openpyxl import Workbook

from incidents.secret_files import secret_check_file
from incidents.secrets import (
    BASE58,
    SECRET_NOTICE,
    SecretRefused,
    bip39_words,
    secret_check_text,
)
from incidents.uploads import XLSX
from tests.verification.dkim_fixtures import build_mail, rsa_key, sign

SEED = ["legal", "winner", "thank", "year", "wave", "sausage", "worth", "useful", "legal", "winner", "thank",
        "yellow"]
RNG = random.Random(6)  # fixed, so a failure can be replayed


def base58check(payload: bytes) -> str:
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, out = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        out = BASE58[digit] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def wif(*, compressed: bool) -> str:
    return base58check(b"\x80" + RNG.randbytes(32) + (b"\x01" if compressed else b""))


def xprv() -> str:
    payload = bytes.fromhex("0488ade4") + b"\x00" * 9 + RNG.randbytes(32) + b"\x00" + RNG.randbytes(32)
    return base58check(payload)


def binance_secret() -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(RNG.choice(alphabet) for _ in range(64))


def kraken_secret() -> str:
    return base64.b64encode(RNG.randbytes(64)).decode()


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def refusal(check, value) -> str:
    with pytest.raises(SecretRefused) as caught:
        check(value)
    return str(caught.value)


def test_the_notice_says_what_lossproof_never_asks_for():
    notice = str(SECRET_NOTICE)

    for word in ("API secret", "password", "seed phrase", "private key", "refuses"):
        assert word in notice


@pytest.mark.parametrize("text", [
    " ".join(SEED),
    "My words were: " + ", ".join(word.upper() for word in SEED) + ". Please help!",
    "\n".join(f"{number}. {word}" for number, word in enumerate(SEED, start=1)),
    " ".join(sorted(bip39_words())[:24]),
])
def test_it_refuses_a_seed_phrase_however_it_is_written(text):
    message = refusal(secret_check_text, text)

    assert "seed phrase" in message and "not saved" in message
    assert "sausage" not in message.lower() and "abandon" not in message.lower()


@pytest.mark.parametrize("key", ["ab" * 32, "0x" + "7f" * 32, "0X".lower() + "C0FFEE" * 10 + "beef"])
def test_it_refuses_a_hex_private_key_and_points_tx_hashes_to_the_transfers_step(key):
    message = refusal(secret_check_text, f"my key is {key} thanks")

    assert "private key" in message and "transfers step" in message
    assert key not in message and key[-20:] not in message


@pytest.mark.parametrize("compressed", [False, True])
def test_it_refuses_a_wif_private_key_with_a_valid_checksum(compressed):
    key = wif(compressed=compressed)
    assert key[0] in ("K", "L") if compressed else key[0] == "5"

    message = refusal(secret_check_text, f"wallet export: {key}")

    assert "WIF" in message and key not in message


def test_a_wif_shaped_string_with_a_wrong_checksum_passes():
    key = wif(compressed=True)
    broken = key[:-1] + ("2" if key[-1] != "2" else "3")

    secret_check_text(f"reference {broken}")
    secret_check_file(f"reference,{broken}\n".encode(), detected_type="text/csv")


def test_it_refuses_an_extended_private_key():
    key = xprv()
    assert key.startswith("xprv")

    message = refusal(secret_check_text, key)

    assert "extended private key" in message and key not in message


@pytest.mark.parametrize("key", [
    pem(ed25519.Ed25519PrivateKey.generate()),
    ec.generate_private_key(ec.SECP256K1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption()).decode(),
])
def test_it_refuses_a_pem_private_key_block(key):
    message = refusal(secret_check_text, "here is my key\n" + key)

    assert "private key block" in message
    body = key.splitlines()[1]
    assert body not in message


@pytest.mark.parametrize("secret", [binance_secret(), kraken_secret()])
def test_it_refuses_an_exchange_api_secret(secret):
    message = refusal(secret_check_text, f"The bot had my key. {secret}")

    assert "API secret" in message and "delete it at the exchange" in message
    assert secret not in message and secret[:12] not in message


@pytest.mark.parametrize("text", [
    "password: Hunter2!x", "API secret = s3cr3tvalue", 'secret_key="abcd1234efgh"',
    "Passphrase:correct-horse", "private key: mysecretkey",
])
def test_it_refuses_a_labelled_secret(text):
    message = refusal(secret_check_text, text)

    assert "password or secret" in message
    assert text.split(":")[-1].split("=")[-1].strip(' "') not in message


@pytest.mark.parametrize("text", [
    "Sent to 0x52908400098527886E0F7030069857D2E4169EE7 and 0xde709f2102306220921060314715629080e2fb77",
    "My wallet: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 and 1BoatSLRHtKNngkdXEeobR76b53LuEpKnx",
    "Solana: 4Nd1mBQtrMJVYVfKf2PJy9NZUZdTAsp7D4xWLs4gDB4T, Tron TJRabPrwbZy45sbavfcjinPJC18kjpRTv8",
    "I lost my bitcoin after the exchange gave the bot access. The thief used the key to buy a "
    "strange coin and then withdraw the balance. I have a ticket and a police report.",
    "Ticket #12345678, police report 2022/11/ABC-12345, see https://etherscan.io/address/"
    "0x52908400098527886E0F7030069857D2E4169EE7#tokentxns",
    "I never shared my password with anyone. Reset-Password-Request-2022-11-15",
    "Please never share your password: our staff will not ask.",
    "Trade id 550e8400-e29b-41d4-a716-446655440000, order Binance-Order-2022-11-20-PUMPUSDT",
])
def test_ordinary_report_text_passes(text):
    secret_check_text(text)


def test_a_dkim_signed_support_mail_passes_the_file_check():
    mail = sign(build_mail(body="Hello,\r\n\r\nYour ticket 12345678 is open. Never share your API secret "
                                "with anyone.\r\n"), key=rsa_key("binance-2022"))
    assert b"b=" in mail and b"bh=" in mail

    secret_check_file(mail, detected_type="message/rfc822")


def test_a_trade_export_with_transaction_ids_passes_the_file_check():
    # TRC20 addresses are base58 (34 characters, mixed case): an address, not a secret.
    rows = [f"2022-11-20 14:0{n}:00,Withdraw,USDT,TRC20,-1000,0x{RNG.randbytes(32).hex()},"
            f"T{''.join(RNG.choice(BASE58) for _ in range(33))},Completed" for n in range(9)]
    csv = ("\ufeffDate(UTC),Operation,Coin,Network,Change,TxId,Address,Status\n" + "\n".join(rows)).encode()

    secret_check_file(csv, detected_type="text/csv")


def test_a_trade_export_with_a_seed_phrase_in_a_cell_is_refused():
    csv = ("Date(UTC),Pair,Side,Price\n2022-11-20,PUMPUSDT,BUY,0.5\nnotes," + " ".join(SEED) + "\n").encode()

    message = refusal(partial(secret_check_file, detected_type="text/csv"), csv)

    assert "seed phrase" in message and "sausage" not in message


@pytest.mark.parametrize("secret", [binance_secret(), "ab" * 32])
def test_the_file_check_refuses_bare_random_tokens_as_a_field_does(secret):
    message = refusal(partial(secret_check_file, detected_type="text/csv"),
                      f"2022-11-20,{secret},Completed\n".encode())

    assert "private key" in message or "API secret" in message
    assert secret not in message


def test_a_binary_file_is_scanned_for_private_keys_in_its_raw_bytes():
    key = pem(ed25519.Ed25519PrivateKey.generate()).encode()
    pdf = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 200 >>\nstream\n" + key + b"\nendstream\n"

    message = refusal(partial(secret_check_file, detected_type="application/pdf"), pdf)

    assert "private key block" in message


def test_a_binary_file_of_random_bytes_passes():
    secret_check_file(b"\x89PNG\r\n\x1a\n" + RNG.randbytes(200_000), detected_type="image/png")


def xlsx(*rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_spreadsheet_with_a_seed_phrase_in_its_cells_is_refused():
    data = xlsx(["Date(UTC)", "Pair", "Side"], ["2022-11-20", "PUMPUSDT", "BUY"], SEED)

    message = refusal(partial(secret_check_file, detected_type=XLSX), data)

    assert "seed phrase" in message


def test_an_ordinary_spreadsheet_export_passes():
    rows = [["2022-11-20", "PUMPUSDT", "BUY", "0x" + RNG.randbytes(32).hex()] for _ in range(50)]

    secret_check_file(xlsx(["Date(UTC)", "Pair", "Side", "TxId"], *rows), detected_type=XLSX)
