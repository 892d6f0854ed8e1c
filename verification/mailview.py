"""Reading a raw .eml once, safely: the one reading every check and the moderators' view share.

``mail_read(raw)`` splits the bytes into headers and body exactly once, with the parser DKIM
verification uses (dkimpy's), and notes what another parser could read differently (a bare CR,
line endings of two kinds, a NUL, a second envelope line): such a mail is refused by the checks.
The standard library only decodes the MIME structure inside the body that reading gave.

``mail_render(raw)`` gives that reading's main headers, its text body and the list of its
attachments. Nothing here fetches anything or outputs HTML: an HTML-only mail is reduced to its
text with the standard library's HTML parser, which never follows a link or loads an image.
Control characters and bidirectional overrides are removed, so a header or file name cannot
disguise itself.
"""

import email
import email.errors
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser

import dkim

MAX_MAIL_BYTES = 10 * 1024 * 1024
MAX_TEXT_CHARS = 200_000
MAX_HEADER_CHARS = 2_000
MAX_NAME_CHARS = 150
RENDERED_HEADERS = ("From", "To", "Cc", "Date", "Subject", "Message-ID", "Reply-To")
SKIPPED_HTML = {"script", "style", "head", "template"}
BLOCK_HTML = {"p", "div", "br", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3", "h4", "h5", "h6",
              "blockquote", "pre", "hr", "section", "article", "header", "footer"}
BIDI_CONTROLS = [0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)]
# C0 and C1 controls (but tab and newline) and bidi overrides, which can make text lie about itself.
CONTROLS = [c for c in range(0x20) if c not in (9, 10)] + list(range(0x7F, 0xA0))
UNSAFE_CHARS = dict.fromkeys(CONTROLS + BIDI_CONTROLS)
# Headers that shape how the body is decoded; the rest stay out of the body's MIME parse.
MIME_HEADERS = (b"mime-version", b"content-type", b"content-transfer-encoding")
BARE_CR_RE = re.compile(rb"\r(?!\n)")
BARE_LF_RE = re.compile(rb"(?<!\r)\n")
HEADER_ERRORS = (email.errors.MessageError, ValueError, IndexError, TypeError, AttributeError, LookupError)


class MailFileError(ValueError):
    """The upload is not a mail Lossproof can read: too large, empty, or not RFC 5322."""


class MailUnreadable(MailFileError):
    """A header line no parser reads the same way: a forgery when the mail claims a signature."""


@dataclass
class MailReading:
    """The one reading of a mail: dkimpy's header list and body, and why another could differ."""

    headers: list[list[bytes]]  # [name, value with its folding and CRLF], top to bottom, as DKIM hashes them
    body: bytes
    problems: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        """Return every value of one header, decoded where it can be, each as one safe line."""
        wanted = name.lower().encode()
        return [_header_text(key, value) for key, value in self.headers if key.lower() == wanted]

    def message(self) -> EmailMessage:
        """Return the body as the standard library decodes its MIME structure (under this reading's split)."""
        mime = b"".join(key + b":" + BARE_CR_RE.sub(b" ", value) for key, value in self.headers
                        if key.lower() in MIME_HEADERS)
        return email.message_from_bytes(mime + b"\r\n" + self.body, policy=policy.default)


@dataclass
class RenderedMail:
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    attachments: list[tuple[str, str, int]] = field(default_factory=list)  # (name, content type, bytes)
    problems: list[str] = field(default_factory=list)
    covered: frozenset[str] = frozenset()  # lowercased names the aligned signature covers

    @property
    def rows(self) -> list[tuple[str, str, bool]]:
        """Return each header with whether the exchange's signature vouches for it."""
        return [(name, value, name.lower() in self.covered) for name, value in self.headers]


def mail_read(raw: bytes, *, max_bytes: int = MAX_MAIL_BYTES) -> MailReading:
    """Split raw .eml bytes once into headers and body, noting what another parser could read otherwise."""
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise MailFileError("The file is empty.")
    if len(raw) > max_bytes:
        raise MailFileError(f"The mail is larger than {max_bytes // (1024 * 1024)} MB.")
    try:
        headers, body = dkim.rfc822_parse(bytes(raw))
    except (dkim.MessageFormatError, IndexError):  # IndexError: a folded line with nothing to fold into
        raise MailUnreadable("This is not an e-mail (.eml): a header line cannot be read.") from None
    if not headers:
        raise MailFileError("This is not an e-mail (.eml): it has no headers.")
    return MailReading(headers=headers, body=body, problems=reading_problems(bytes(raw)))


def reading_problems(raw: bytes) -> list[str]:
    """Name what would let two mail parsers split these bytes into different lines."""
    problems = ["nul_byte"] if b"\x00" in raw else []
    problems += ["bare_cr"] if BARE_CR_RE.search(raw) else []
    problems += ["mixed_line_endings"] if b"\r\n" in raw and BARE_LF_RE.search(raw) else []
    # dkimpy skips "From " lines that some parsers take as a header or as the body's start.
    header_lines = re.split(rb"\r?\n", re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0])[1:]
    return problems + (["envelope_line"] if any(line.startswith(b"From ") for line in header_lines) else [])


def mail_render(raw: bytes, *, covered: frozenset[str] = frozenset(), max_bytes: int = MAX_MAIL_BYTES
                ) -> RenderedMail:
    """Render a mail for moderators, from the reading the checks use: headers, plain text, attachments."""
    reading = mail_read(raw, max_bytes=max_bytes)
    message = reading.message()
    headers = [(name, value) for name in RENDERED_HEADERS for value in reading.values(name)]
    return RenderedMail(headers=headers, text=message_text(message), attachments=_attachments(message),
                        problems=reading.problems, covered=frozenset(covered))


def _header_text(key: bytes, value: bytes) -> str:
    """Decode one header as the standard library would, then make it one safe line."""
    name, source = key.decode("ascii", "surrogateescape"), value.decode("ascii", "surrogateescape")
    try:
        name, text = policy.default.header_source_parse([f"{name}:{source}"])
        text = str(policy.default.header_fetch_parse(name, text))
    except HEADER_ERRORS:
        text = source  # shown as sent rather than not at all
    return _one_line(text)[:MAX_HEADER_CHARS]


def message_text(message: EmailMessage) -> str:
    """Return the mail's text body: its text/plain part, else its HTML part reduced to text."""
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return clean_text(_decoded(part))[:MAX_TEXT_CHARS]
    part = message.get_body(preferencelist=("html",))
    return "" if part is None else html_to_text(_decoded(part))


def html_to_text(html: str) -> str:
    """Reduce HTML to its visible text: no tags, scripts, styles or remote content."""
    parser = _TextCollector()
    parser.feed(html)
    parser.close()
    text = "".join(parser.chunks)
    text = re.sub(r" *\n *", "\n", text)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return clean_text(text.strip())[:MAX_TEXT_CHARS]


def clean_text(text: str) -> str:
    """Remove control characters (but newline and tab) and bidirectional overrides."""
    return text.replace("\r", "").translate(UNSAFE_CHARS)


class _TextCollector(HTMLParser):
    """Collect the text of an HTML document, one line per block element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED_HTML:
            self.skipping += 1
        elif tag in BLOCK_HTML:
            self.chunks.append("\n")

    def handle_endtag(self, tag):
        if tag in SKIPPED_HTML:
            self.skipping = max(self.skipping - 1, 0)
        elif tag in BLOCK_HTML:
            self.chunks.append("\n")

    def handle_data(self, data):
        if not self.skipping:
            self.chunks.append(re.sub(r"\s+", " ", data))


def _decoded(part: EmailMessage) -> str:
    """Decode a leaf part's payload with its declared charset, replacing what does not decode."""
    payload = part.get_payload(decode=True) or b""
    try:
        return payload.decode(part.get_content_charset("utf-8"), errors="replace")
    except LookupError:  # a charset Python does not know
        return payload.decode("utf-8", errors="replace")


def _attachments(message: EmailMessage) -> list[tuple[str, str, int]]:
    """List every attached or named part with a safe name, its declared type and its size."""
    found = []
    for part in message.walk():
        if part.is_multipart():
            continue
        try:
            name = part.get_filename()
        except HEADER_ERRORS:
            name = None
        if name is None and part.get_content_disposition() != "attachment":
            continue
        size = len(part.get_payload(decode=True) or b"")
        found.append((safe_filename(name, len(found) + 1), _one_line(part.get_content_type())[:100], size))
    return found


def safe_filename(name: str | None, number: int) -> str:
    """Return a file name that cannot carry a path, control characters or a disguised extension."""
    name = re.split(r"[/\\]", name or "")[-1]
    name = _one_line(name).strip(" .")[:MAX_NAME_CHARS]
    return name or f"attachment-{number}"


def _one_line(value: str) -> str:
    """Collapse a header value to one line without control characters."""
    return re.sub(r"\s+", " ", clean_text(str(value))).strip()
