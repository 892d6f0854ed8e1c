"""The support-ticket mail check and the moderators' plain-text view, on mails signed by dkimpy."""

import socket
from datetime import UTC, datetime

import pytest

from tests.verification.dkim_fixtures import FakeDns, build_mail, rsa_key, sign, sign_at, sign_without_from
from verification.checks.mail import ArchivedKey, MailFileError, mail_check
from verification.clients.dns import dkim_txt_lookup
from verification.mailview import mail_render
from verification.models import Outcome

PATTERN = r"Ticket #(\d{8})"
BINANCE_NAME = "s2022._domainkey.binance.com"


def dns_with_binance_key() -> FakeDns:
    return FakeDns({BINANCE_NAME: rsa_key("binance").txt()})


def check(raw: bytes, *, dns: FakeDns | None = None, archive: list[ArchivedKey] = (),
          claimed: str = "12345678", **kwargs):
    """Run the mail check the way the exchange Binance of a test incident would have it run."""
    options = {"support_domains": ["binance.com"], "ticket_pattern": PATTERN, "claimed_ticket": claimed,
               "contact_email": "victim@example.org", "archived_keys": list(archive),
               "dns_lookup": dns if dns is not None else dns_with_binance_key()}
    return mail_check(raw=raw, **{**options, **kwargs})


def outcome(findings, name: str):
    return next(o for o in findings.outcomes if o.name == name)


def test_it_verifies_a_ticket_mail_signed_by_the_exchange_support_domain():
    findings = check(sign(build_mail(), key=rsa_key("binance")))

    assert findings.ticket_status == "dkim_verified"
    assert findings.flags == set()
    assert findings.ticket_id == "12345678"
    assert findings.addressed_to_reporter is True
    assert findings.mail_date == datetime(2022, 11, 15, 10, tzinfo=UTC)
    assert outcome(findings, "dkim_signature").outcome == Outcome.PASS
    assert outcome(findings, "ticket_id").outcome == Outcome.PASS
    signature = outcome(findings, "dkim_signature").raw["signatures"][0]
    expected = {"d": "binance.com", "s": "s2022", "key_source": "dns", "result": "pass", "l": None}
    assert signature | expected == signature


def test_it_reports_a_mail_sent_to_another_address_than_the_reporters_as_recipient_mismatch():
    findings = check(sign(build_mail(to="someone.else@example.org"), key=rsa_key("binance")))

    assert findings.ticket_status == "recipient_mismatch"
    assert findings.flags == set()
    assert findings.addressed_to_reporter is False
    assert outcome(findings, "ticket_id").raw["addressed_to_reporter"] is False
    assert outcome(findings, "dkim_signature").outcome == Outcome.PASS  # the signature itself is genuine


def test_it_verifies_a_mail_saved_with_unix_line_endings():
    mail = sign(build_mail(), key=rsa_key("binance")).replace(b"\r\n", b"\n")

    assert check(mail).ticket_status == "dkim_verified"


def test_it_verifies_a_mail_saved_from_a_mailbox_with_its_envelope_line():
    envelope = b"From support@binance.com Tue Nov 15 10:00:01 2022\r\n"
    mail = envelope + sign(build_mail(), key=rsa_key("binance"))

    assert check(mail).ticket_status == "dkim_verified"


def test_it_flags_a_mail_whose_body_was_changed_after_signing():
    signed = sign(build_mail(), key=rsa_key("binance"))
    forged = signed.replace(b"looking into it", b"refunding 5 BTC")

    findings = check(forged)

    assert findings.ticket_status == "dkim_invalid"
    assert findings.flags == {"mail_forged"}
    assert outcome(findings, "dkim_signature").reasons == ["signature_invalid"]


def test_it_flags_a_mail_whose_subject_was_changed_after_signing():
    signed = sign(build_mail(), key=rsa_key("binance"))
    forged = signed.replace(b"Ticket #12345678", b"Ticket #87654321")

    findings = check(forged, claimed="87654321")

    assert findings.ticket_status == "dkim_invalid"
    assert findings.flags == {"mail_forged"}


def test_it_refuses_a_body_length_tag_that_leaves_appended_text_unsigned():
    signed = sign(build_mail(), key=rsa_key("binance"), length=True)
    appended = signed + b"\r\nUPDATE: your loss of 250,000 USDT is confirmed.\r\n"

    findings = check(appended)

    signature = outcome(findings, "dkim_signature").raw["signatures"][0]
    assert signature["l"] is not None
    assert signature["result"] == "body_length_tag"
    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["body_length_tag"]
    assert findings.flags == {"mail_forged"}


def test_it_accepts_a_body_length_tag_that_covers_the_whole_body():
    findings = check(sign(build_mail(), key=rsa_key("binance"), length=True))

    assert findings.ticket_status == "dkim_verified"


def test_it_flags_a_duplicated_subject_even_though_the_signature_still_verifies():
    signed = sign(build_mail(subject="Your account"), key=rsa_key("binance"))
    forged = b"Subject: Ticket #12345678 refund approved\r\n" + signed

    findings = check(forged)

    assert outcome(findings, "dkim_signature").raw["signatures"][0]["result"] == "pass"
    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["duplicated_header:subject"]
    assert findings.flags == {"mail_forged"}


def test_it_reports_a_lookalike_domain_with_its_own_valid_key_as_the_wrong_domain():
    raw = build_mail(sender="Binance Support <support@binance-support.com>")
    signed = sign(raw, key=rsa_key("lookalike"), domain="binance-support.com", selector="mail")
    archive = [ArchivedKey("binance-support.com", "mail", rsa_key("lookalike").public_b64)]

    findings = check(signed, archive=archive)  # keys of other domains come from the archive only

    assert outcome(findings, "dkim_signature").raw["signatures"][0]["result"] == "pass"
    assert findings.ticket_status == "domain_mismatch"
    assert findings.flags == {"mail_wrong_domain"}
    assert outcome(findings, "dkim_signature").outcome == Outcome.FAIL


def test_it_verifies_an_old_mail_with_the_rotated_key_kept_in_the_archive():
    old_mail = sign(build_mail(), key=rsa_key("binance-2022"))
    dns = FakeDns({BINANCE_NAME: rsa_key("binance").txt()})  # the selector now publishes the new key
    archive = [ArchivedKey("binance.com", "s2022", rsa_key("binance-2022").public_b64,
                           datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))]

    findings = check(old_mail, dns=dns, archive=archive)

    assert findings.ticket_status == "dkim_verified"
    assert outcome(findings, "dkim_signature").raw["signatures"][0]["key_source"] == "archive"
    assert dns.asked == []


def test_it_refuses_a_key_that_had_expired_by_the_mails_own_date():
    late_mail = sign(build_mail(date="Mon, 06 Mar 2023 09:00:00 +0000"), key=rsa_key("binance-2022"))
    archive = [ArchivedKey("binance.com", "s2022", rsa_key("binance-2022").public_b64,
                           datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))]

    findings = check(late_mail, archive=archive)

    assert outcome(findings, "dkim_signature").raw["signatures"][0]["result"] == "key_expired"
    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["key_expired"]
    assert findings.flags == {"mail_forged"}


def test_it_accepts_the_same_archived_key_for_a_mail_dated_inside_its_validity():
    mail = sign(build_mail(date="Fri, 30 Dec 2022 23:00:00 +0000"), key=rsa_key("binance-2022"))
    archive = [ArchivedKey("binance.com", "s2022", rsa_key("binance-2022").public_b64,
                           datetime(2022, 1, 1, tzinfo=UTC), datetime(2023, 1, 1, tzinfo=UTC))]

    assert check(mail, archive=archive).ticket_status == "dkim_verified"


def test_it_refuses_an_archived_key_with_bounds_for_a_mail_without_a_date():
    mail = sign(build_mail(date="not a date"), key=rsa_key("binance-2022"))
    archive = [ArchivedKey("binance.com", "s2022", rsa_key("binance-2022").public_b64,
                           datetime(2022, 1, 1, tzinfo=UTC), None)]

    findings = check(mail, archive=archive)

    assert findings.mail_date is None
    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["key_expired"]


def test_it_reports_key_unknown_without_a_flag_when_neither_archive_nor_dns_has_the_key():
    dns = FakeDns()

    findings = check(sign(build_mail(), key=rsa_key("binance")), dns=dns)

    assert findings.ticket_status == "key_unknown"
    assert findings.flags == set()
    assert outcome(findings, "dkim_signature").outcome == Outcome.INCONCLUSIVE
    assert outcome(findings, "dkim_signature").raw["signatures"][0]["key_source"] == "none"
    assert dns.asked == [BINANCE_NAME]


def test_it_reports_an_unsigned_mail_as_unsigned_without_a_flag():
    findings = check(build_mail())

    assert findings.ticket_status == "unsigned"
    assert findings.flags == set()
    assert findings.ticket_id == ""  # nothing signed names it


def test_it_reports_a_ticket_id_that_differs_from_the_claimed_one():
    findings = check(sign(build_mail(), key=rsa_key("binance")), claimed="99999999")

    assert findings.ticket_status == "ticket_mismatch"
    assert findings.ticket_id == "12345678"
    assert outcome(findings, "ticket_id").reasons == ["ticket_mismatch"]
    assert outcome(findings, "dkim_signature").outcome == Outcome.PASS
    assert findings.flags == set()


def test_it_reports_ticket_mismatch_when_a_verified_mail_cites_no_ticket():
    mail = sign(build_mail(subject="Your account"), key=rsa_key("binance"))

    findings = check(mail)

    assert findings.ticket_status == "ticket_mismatch"
    assert outcome(findings, "ticket_id").reasons == ["ticket_not_found"]


def test_it_finds_the_ticket_id_in_the_body_and_accepts_a_claim_written_with_its_prefix():
    mail = build_mail(subject="Your account", body="Your request Ticket #12345678 is open.\r\n")

    findings = check(sign(mail, key=rsa_key("binance")), claimed="Ticket #12345678")

    assert findings.ticket_status == "dkim_verified"
    assert findings.ticket_id == "12345678"


def test_it_refuses_a_support_signature_that_leaves_the_subject_unsigned():
    mail = sign(build_mail(subject="Your account"), key=rsa_key("binance"), headers=[b"from", b"to", b"date"])
    forged = mail.replace(b"Subject: Your account", b"Subject: Ticket #12345678")

    findings = check(forged)

    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["required_headers_unsigned"]
    assert findings.ticket_id == ""


def test_it_flags_a_support_domain_signature_that_from_does_not_align_with():
    mail = sign(build_mail(sender="Binance <support@blnance-help.net>"), key=rsa_key("binance"))

    findings = check(mail)

    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["not_aligned"]
    assert findings.flags == {"mail_forged"}


def test_it_refuses_a_signature_that_does_not_cover_from():
    mail = sign_without_from(build_mail(), key=rsa_key("binance"))

    findings = check(mail)

    signature = outcome(findings, "dkim_signature").raw["signatures"][0]
    assert signature["h"] == ["to", "subject", "date"]
    assert signature["result"] == "fail"
    assert findings.ticket_status == "dkim_invalid"


def test_it_aligns_a_from_subdomain_with_the_signing_domain():
    mail = sign(build_mail(sender="support@mail.binance.com"), key=rsa_key("binance"))

    assert check(mail).ticket_status == "dkim_verified"


def test_a_failing_signature_outweighs_a_passing_one():
    good = sign(build_mail(), key=rsa_key("binance"))
    both = sign(good, key=rsa_key("lookalike"), domain="binance.com", selector="s2023")
    dns = FakeDns({BINANCE_NAME: rsa_key("binance").txt(),
                   "s2023._domainkey.binance.com": rsa_key("binance").txt()})  # not the key that signed

    findings = check(both, dns=dns)

    signatures = outcome(findings, "dkim_signature").raw["signatures"]
    assert sorted(s["result"] for s in signatures) == ["fail", "pass"]
    assert findings.ticket_status == "dkim_invalid"
    assert findings.flags == {"mail_forged"}


def test_it_judges_signature_expiry_at_the_mails_own_date():
    signed_at = datetime(2022, 11, 15, 10, tzinfo=UTC)
    mail = sign_at(build_mail(), key=rsa_key("binance"), signed_at=signed_at,
                   expires_at=datetime(2022, 11, 22, tzinfo=UTC))

    assert check(mail).ticket_status == "dkim_verified"


def test_it_refuses_a_signature_that_had_expired_before_the_mail_was_sent():
    mail = sign_at(build_mail(), key=rsa_key("binance"), signed_at=datetime(2022, 11, 1, tzinfo=UTC),
                   expires_at=datetime(2022, 11, 8, tzinfo=UTC))

    findings = check(mail)

    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["signature_expired"]


def test_it_refuses_an_oversized_mail():
    mail = build_mail(body="x" * 2048)

    with pytest.raises(MailFileError, match="larger"):
        check(mail, max_bytes=1024)


NOT_MAILS = [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"just some notes\nabout my loss\n", b""]


@pytest.mark.parametrize("raw", NOT_MAILS)
def test_it_refuses_a_file_that_is_not_a_mail(raw):
    with pytest.raises(MailFileError):
        check(raw)


def test_a_signed_mail_with_a_header_line_no_parser_reads_alike_is_forged():
    signed = sign(build_mail(), key=rsa_key("binance"))
    broken = signed.replace(b"\r\n\r\n", b"\r\nX-Note Ticket #99999999\r\n\r\n", 1)

    findings = check(broken, claimed="99999999")

    assert findings.ticket_status == "dkim_invalid"
    assert outcome(findings, "dkim_signature").reasons == ["header_unreadable"]
    assert findings.ticket_id == ""


def test_a_file_starting_with_a_folded_line_is_not_a_mail():
    with pytest.raises(MailFileError, match="header line"):
        check(b" folded\r\nFrom: support@binance.com\r\n\r\nHello\r\n")


def test_it_refuses_a_mail_without_a_from_header():
    with pytest.raises(MailFileError, match="From"):
        check(b"Subject: Ticket #12345678\r\nTo: victim@example.org\r\n\r\nHello\r\n")


def test_the_dns_edge_answers_none_instead_of_raising():
    assert dkim_txt_lookup("nokey._domainkey.lossproof.invalid", timeout=0.5) is None


HTML_MAIL = """<html><head><title>t</title><style>p {color: red}</style></head><body>
<p>Hello&nbsp;there,</p><img src="http://tracker.example.com/pixel.png?id=42">
<script>alert('pwned')</script><div>Ticket #12345678</div>
<p>Visit <a href="https://phish.example.com">our help centre</a>.</p></body></html>"""


def test_rendering_an_html_only_mail_gives_plain_text_and_fetches_nothing(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("rendering a mail must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    raw = build_mail(content_type="text/html; charset=utf-8", body=HTML_MAIL)

    rendered = mail_render(raw)

    assert "<" not in rendered.text and ">" not in rendered.text
    assert "alert" not in rendered.text and "color" not in rendered.text
    assert "tracker.example.com" not in rendered.text
    assert rendered.text == "Hello there,\n\nTicket #12345678\n\nVisit our help centre."
    assert ("Subject", "Re: [Ticket #12345678] Unauthorised withdrawal") in rendered.headers


def test_rendering_lists_attachments_under_safe_names_and_prefers_the_text_part():
    raw = (
        b"From: support@binance.com\r\nTo: victim@example.org\r\nSubject: =?utf-8?q?Caf=C3=A9?=\x07\r\n"
        b"Date: " + b"Tue, 15 Nov 2022 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        b'--b1\r\nContent-Type: multipart/alternative; boundary="b2"\r\n\r\n'
        b"--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlain words\x1b[31m here.\r\n"
        b"--b2\r\nContent-Type: text/html\r\n\r\n<p>HTML words</p>\r\n--b2--\r\n"
        b"--b1\r\nContent-Type: application/pdf\r\n"
        b'Content-Disposition: attachment; filename="../../etc/invoice\xe2\x80\xaefdp.exe"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n"
    )

    rendered = mail_render(raw)

    assert rendered.text.strip() == "Plain words[31m here."
    assert rendered.attachments == [("invoicefdp.exe", "application/pdf", 9)]
    assert ("Subject", "Café") in rendered.headers
