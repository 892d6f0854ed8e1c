"""Scan an uploaded file for the same secret shapes as a form field, reading it as what it is.

A field refuses any 64-hex value (a possible private key) and any long random-looking token (a
possible API secret). A file holds such values legitimately only where it says what they are,
so only there are they let through: a transaction hash in a TxID or hash column of an export or
on a `TxID` line of an exchange mail, or in a link to a transaction; a DKIM signature in a
mail's headers; a PGP signature block. A base64 attachment is decoded and scanned as what it
holds. Everything else meets the field rules. See docs/threat-model.md.
"""

import codecs
import csv
import email
import email.policy
import io
import re
from collections.abc import Iterable, Iterator

from incidents.secrets import HEX_KEY, URL, secret_check_common, secret_check_shapes
from incidents.xlsx_stream import xlsx_rows

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# A header naming a column of hashes: TxID, Tx Hash, Transaction ID, Txhash, Withdrawal TxID…
HASH_HEADER_RE = re.compile(r"[a-z]*(?:hash|txid|txnid|transactionid)[a-z]*")
# A hash as a file gives it: 64 hex (EVM, Bitcoin), or base58 of a Solana signature (87-88).
HASH_TOKEN_RE = re.compile(r"(?<![0-9A-Za-z])(?:(?:0x)?[0-9a-fA-F]{64}|[1-9A-HJ-NP-Za-km-z]{86,88})"
                           r"(?![0-9A-Za-z])")
# "TxID: 0x…", "Transaction hash 1f…": the label names the value, as exchange mails write it.
LABELLED_HASH_RE = re.compile(
    r"(?i)\b(?:tx\s*id|txid|txn\s*id|tx\s*hash|txhash|transaction\s*(?:id|hash)|hash)\b[\s:#=\-]{0,8}"
    r"(?:0x)?[0-9a-fA-F]{64}(?![0-9A-Za-z])"
)
PGP_BLOCK_RE = re.compile(
    r"-----BEGIN PGP (?:SIGNATURE|MESSAGE|PUBLIC KEY BLOCK)-----.*?-----END PGP [A-Z ]+-----", re.DOTALL)
HTML_DROP_RE = re.compile(r"(?is)<(style|script|head)\b.*?</\1\s*>")
HTML_TAG_RE = re.compile(r"<[^>]*>")
DATA_URI_RE = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
SNIFF_LINES = 20
# Cells are checked this many characters at a time; the last cells of a batch are checked again
# with the next, so a seed phrase written one word per cell is never cut in two.
WINDOW = 256 * 1024
CELLS_OVERLAP = 24
HEADER_MAX = 40  # characters of a header cell; a longer cell is text, whatever words it holds


def secret_check_file(data: bytes, *, detected_type: str = "") -> None:
    """Refuse a file holding a seed phrase, a private key, an API secret or a labelled password."""
    # Every byte first (latin-1 maps each one), so binaries and attachments are scanned too.
    secret_check_common(data.decode("latin-1"))
    if detected_type == XLSX_TYPE:
        _check_rows(xlsx_rows(data), joined=True)
    elif detected_type == "message/rfc822":
        _check_mail(data)
    elif detected_type == "text/csv":
        _check_rows(_csv_rows(_decoded(data)), joined=False)


def secret_check_cell(text: str, *, hashes: bool) -> None:
    """Refuse a cell as a field would, letting transaction hashes through where ``hashes`` says so."""
    secret_check_common(text)
    _check_value(text, hashes=hashes)


def _check_value(text: str, *, hashes: bool) -> None:
    """Apply the field rules to one cell or text, letting hashes through where the file names them."""
    text = URL.sub(" ", text)
    if hashes:
        text = HASH_TOKEN_RE.sub(" ", text)
    secret_check_shapes(text)


def is_hash_header(cell: str) -> bool:
    """Tell whether a column header names transaction hashes (TxID, Tx Hash, Transaction ID…)."""
    return len(cell) <= HEADER_MAX and bool(HASH_HEADER_RE.fullmatch(re.sub(r"[^a-z]", "", cell.lower())))


def _check_rows(rows: Iterable[list[tuple[int, str]]], *, joined: bool) -> None:
    """Check each cell, hashes where a header row above names them; ``joined``: seeds across cells too.

    Cells are checked a batch of rows at a time, one line per cell, so that a 100,000-row export
    costs a few regular-expression passes per batch rather than several per cell.
    """
    hash_columns: set[int] = set()
    plain, hashes, size = [], [], 0
    for row in rows:
        if _may_name_hashes(row) and _is_header(row):
            # Added to, never replaced: a row of text that happens to say "tx hash" must not make
            # the real TxID column of the export above it a column of possible keys.
            hash_columns |= {index for index, cell in row if is_hash_header(cell)}
        for index, cell in row:
            (hashes if index in hash_columns else plain).append(cell)
            size += len(cell)
        if size > WINDOW:
            _check_batch(plain, hashes, joined=joined)
            plain, hashes, size = plain[-CELLS_OVERLAP:], [], 0
    _check_batch(plain, hashes, joined=joined)


def _may_name_hashes(row: list[tuple[int, str]]) -> bool:
    """Look cheaply for a header naming hashes (most rows have none) before judging each cell."""
    lowered = "\n".join(cell for _, cell in row).lower()
    return "hash" in lowered or "tx" in lowered or "transaction" in lowered


def _is_header(row: list[tuple[int, str]]) -> bool:
    return any(is_hash_header(cell) for _, cell in row) and not any(HEX_KEY.search(c) for _, c in row)


def _check_batch(plain: list[str], hashes: list[str], *, joined: bool) -> None:
    text = "\n".join(plain)
    if joined:  # a seed phrase written one word per cell (CSV bytes were scanned whole already)
        secret_check_common(text)
    _check_value(text, hashes=False)
    _check_value("\n".join(hashes), hashes=True)


def _decoded(data: bytes) -> str:
    try:
        return codecs.decode(data, "utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _csv_rows(text: str) -> Iterator[list[tuple[int, str]]]:
    head = text[:8192].splitlines()[:SNIFF_LINES]
    delimiter = max(",;\t", key=lambda d: sum(line.count(d) for line in head))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        for cells in reader:
            yield list(enumerate(cells))
    except csv.Error:  # not CSV after all (a stray quote, a huge field): one text per line
        for line in text.splitlines()[reader.line_num:]:
            yield list(enumerate(line.split(delimiter)))


def _check_mail(data: bytes) -> None:
    """Check the subject and every decoded body part; headers are machine-written signatures and ids."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    _check_mail_text(str(message.get("subject", "") or ""))
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        if part.get_content_maintype() == "text":
            _check_mail_text(_part_text(part, payload))
        else:
            secret_check_common(payload.decode("latin-1"))  # a decoded attachment, read as bytes


def _part_text(part, payload: bytes) -> str:
    try:
        text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
    except LookupError:
        text = payload.decode("latin-1")
    if part.get_content_subtype() == "html":
        text = HTML_TAG_RE.sub(" ", HTML_DROP_RE.sub(" ", DATA_URI_RE.sub(" ", text)))
    return text


def _check_mail_text(text: str) -> None:
    secret_check_common(text)
    _check_value(LABELLED_HASH_RE.sub(" ", PGP_BLOCK_RE.sub(" ", text)), hashes=False)
