"""Reading a raw .eml safely: parse it, take its text, and render it for moderators as plain text.

``mail_render(raw)`` gives the mail's main headers, its text body and the list of its attachments.
Nothing here fetches anything or outputs HTML: an HTML-only mail is reduced to its text with the
standard library's HTML parser, which never follows a link or loads an image. Control characters
and bidirectional overrides are removed, so a header or file name cannot disguise itself.
"""

import email
import email.errors
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from html.parser import HTMLParser

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
HEADER_ERRORS = (email.errors.MessageError, ValueError, IndexError, TypeError, AttributeError, LookupError)


class MailFileError(ValueError):
    """The upload is not a mail Lossproof can read: too large, empty, or not RFC 5322."""


@dataclass
class RenderedMail:
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    attachments: list[tuple[str, str, int]] = field(default_factory=list)  # (name, content type, bytes)


def mail_parse(raw: bytes, *, max_bytes: int = MAX_MAIL_BYTES) -> EmailMessage:
    """Parse raw .eml bytes, refusing what is too large or has no header section."""
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise MailFileError("The file is empty.")
    if len(raw) > max_bytes:
        raise MailFileError(f"The mail is larger than {max_bytes // (1024 * 1024)} MB.")
    message = email.message_from_bytes(bytes(raw), policy=policy.default)
    if not list(message.raw_items()):
        raise MailFileError("This is not an e-mail (.eml): it has no headers.")
    return message


def mail_render(raw: bytes, *, max_bytes: int = MAX_MAIL_BYTES) -> RenderedMail:
    """Render a mail for moderators as headers, plain text and an attachment list."""
    message = mail_parse(raw, max_bytes=max_bytes)
    headers = [(name, value) for name in RENDERED_HEADERS for value in header_values(message, name)]
    return RenderedMail(headers=headers, text=message_text(message), attachments=_attachments(message))


def header_values(message: EmailMessage, name: str) -> list[str]:
    """Return every value of one header, decoded where it can be, each as one safe line."""
    values = []
    for key, raw_value in message.raw_items():
        if key.lower() != name.lower():
            continue
        try:
            value = str(message.policy.header_fetch_parse(key, raw_value))
        except HEADER_ERRORS:
            value = raw_value  # shown as sent rather than not at all
        values.append(_one_line(value)[:MAX_HEADER_CHARS])
    return values


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
