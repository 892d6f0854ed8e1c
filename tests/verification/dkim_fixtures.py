"""Real DKIM for tests: RSA keys made here, mails signed by dkimpy, and a DNS that knows the test keys."""

import base64
import functools
from dataclasses import dataclass
from datetime import UTC, datetime

import dkim
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SIGNED_HEADERS = [b"from", b"to", b"subject", b"date", b"message-id"]
MAIL_DATE = "Tue, 15 Nov 2022 10:00:00 +0000"


@dataclass(frozen=True)
class SigningKey:
    private_pem: bytes
    public_b64: str  # the p= value: base64 of the DER SubjectPublicKeyInfo

    def txt(self) -> bytes:
        return f"v=DKIM1; k=rsa; p={self.public_b64}".encode()


@functools.cache  # RSA generation is the slow part; each named key is made once per session
def rsa_key(name: str) -> SigningKey:
    """Return the test key called ``name``, generating it on first use."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    der = private.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return SigningKey(pem, base64.b64encode(der).decode())


def build_mail(*, sender: str = "Binance Support <support@binance.com>", to: str = "victim@example.org",
               subject: str = "Re: [Ticket #12345678] Unauthorised withdrawal", date: str = MAIL_DATE,
               body: str = "Hello,\r\n\r\nWe have received your request. Our team is looking into it.\r\n",
               content_type: str = "text/plain; charset=utf-8") -> bytes:
    """Return a raw single-part mail as an exchange's support desk would send it."""
    headers = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}",
               "Message-ID: <ticket-12345678@binance.com>", "MIME-Version: 1.0",
               f"Content-Type: {content_type}"]
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


def sign(raw: bytes, *, key: SigningKey, domain: str = "binance.com", selector: str = "s2022",
         length: bool = False, headers: list[bytes] = SIGNED_HEADERS) -> bytes:
    """Return the mail with a DKIM-Signature made by dkimpy prepended."""
    signature = dkim.sign(raw, selector.encode(), domain.encode(), key.private_pem,
                          include_headers=headers, length=length)
    return signature + raw


class _TaggedSigner(dkim.DKIM):
    """dkimpy's signer with chosen tags (t=, x=, h=), as old or odd mails carry them."""

    def __init__(self, message: bytes, *, tags: dict[bytes, bytes]):
        super().__init__(message)
        self.tags = tags

    def gen_header(self, fields, include_headers, *args, **kwargs):
        present = {tag for tag, _ in fields}
        fields = [(tag, self.tags.get(tag, value)) for tag, value in fields]
        extra = [(tag, value) for tag, value in self.tags.items() if tag not in present]
        fields[-1:-1] = extra  # b= stays last, as dkimpy expects
        if b"h" in self.tags:
            include_headers = tuple(self.tags[b"h"].split(b" : "))
        return super().gen_header(fields, include_headers, *args, **kwargs)


def sign_at(raw: bytes, *, key: SigningKey, signed_at: datetime, expires_at: datetime) -> bytes:
    """Return the mail signed for binance.com with a signing time and an expiry of our choosing."""
    tags = {b"t": str(int(signed_at.timestamp())).encode(), b"x": str(int(expires_at.timestamp())).encode()}
    signer = _TaggedSigner(raw, tags=tags)
    return signer.sign(b"s2022", b"binance.com", key.private_pem, include_headers=SIGNED_HEADERS) + raw


def sign_without_from(raw: bytes, *, key: SigningKey) -> bytes:
    """Return the mail with a binance.com signature that leaves From: out (dkimpy refuses to make one)."""
    signer = _TaggedSigner(raw, tags={b"h": b"to : subject : date"})
    return signer.sign(b"s2022", b"binance.com", key.private_pem, include_headers=SIGNED_HEADERS) + raw


class FakeDns:
    """The DNS edge: answers DKIM key names from a dict and remembers what was asked."""

    def __init__(self, records: dict[str, bytes] | None = None):
        self.records = records or {}
        self.asked: list[str] = []

    def __call__(self, name: str) -> bytes | None:
        self.asked.append(name)
        return self.records.get(name)


def binance_with_archived_key(incident):
    """Give ``incident`` the Binance exchange (support domain, ticket pattern) and its archived 2022 key."""
    from incidents.models import DkimKey, Exchange

    exchange = Exchange.objects.create(incident=incident, name="Binance", support_domains=["binance.com"],
                                       ticket_id_regex=r"Ticket #(\d{8})")
    DkimKey.objects.create(incident=incident, domain="binance.com", selector="s2022",
                           public_key=rsa_key("binance-2022").public_b64,
                           valid_from=datetime(2022, 1, 1, tzinfo=UTC))
    return exchange
