"""Demo data for the journalist's dashboard: a crowd of reports over several exchanges, assets and
days, some imported from a sheet, some contested, flagged or decided, then a published release.

Kept apart from devtools/demo.py (the victim's journey) so each part of the demo can grow alone.
Every transfer is real on the demo chain; only the moderators' decisions are written directly,
as the demo's stand-in for moderators at work.
"""

import base64
import csv
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from email.utils import format_datetime
from pathlib import Path

import dkim
from allauth.account.models import EmailAddress
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from devtools.chain import AnvilNode, send_eth, send_token, to_base_units
from devtools.demo import CHAIN, SLUG, USDT_DECIMALS
from incidents.models import (
    AttestationAnswer,
    DkimKey,
    EvidenceKind,
    Exchange,
    Incident,
    Report,
    ReportStatus,
    TicketAttestation,
)
from incidents.services import evidence_attach, report_create
from registry.models import Release
from registry.services import release_publish
from verification.tasks import verify_reports_task

NOTE = "[demo-crowd]"
# (exchange, reports, asset): Bitstamp's 3 and Bybit's 2 reports stay below the small-cell line and
# are shown only as their sum ("other"), which holds 5.
CROWD = [("Binance", 12, "ETH"), ("Kraken", 9, "USDT"), ("OKX", 8, "ETH"), ("Coinbase", 7, "USDT"),
         ("Bitstamp", 3, "ETH"), ("Bybit", 2, "USDT")]
SHEET_SHARE = 2  # every second crowd report comes from the imported sheet
DAY_SECONDS = 86_400
MAIL_SELECTOR = "demo"  # the DKIM selector of the demo's support mails (a key made per run)


@dataclass
class Journalist:
    email: str
    password: str


def demo_crowd_seed(*, node: AnvilNode, out_dir: Path | None = None) -> Journalist:
    """Make the crowd's transfers over four days and store their reports (web and imported sheet)."""
    out_dir = out_dir or settings.VAR_DIR / "demo"
    incident = Incident.objects.get(slug=SLUG)
    _exchanges(incident)
    demo_crowd_clear()
    rows = _transfers(node, incident)
    with transaction.atomic():
        _web_reports(incident, [row for n, row in enumerate(rows) if n % SHEET_SHARE])
        _contested(incident, rows[0])
        _ticket_only(incident, mailed_at=_chain_now(node))
        journalist = _journalist()
    _sheet(incident, [row for n, row in enumerate(rows) if not n % SHEET_SHARE], out_dir)
    return journalist


def demo_crowd_clear() -> None:
    """Delete an earlier run's crowd: its reports cite exchanges the demo's incident file does not list,
    so the next run's load_incident would refuse to drop them (and its chain is gone anyway)."""
    crowd = Report.objects.filter(incident__slug=SLUG)
    crowd.filter(notes__startswith=NOTE).delete()
    crowd.filter(source_file="demo-crowd.csv").delete()


def _exchanges(incident: Incident) -> None:
    for name, _count, _asset in CROWD:
        Exchange.objects.get_or_create(incident=incident, name=name,
                                       defaults={"support_domains": [f"{name.lower()}.com"],
                                                 "ticket_id_regex": r"Ticket #(\d{8})"})


def _transfers(node: AnvilNode, incident: Incident) -> list[dict]:
    """Send one real transfer per crowd report, moving the chain's clock a day every quarter."""
    accounts = node.accounts
    victims, attackers = [accounts[n] for n in (1, 2, 3, 4, 8, 9)], (accounts[5], accounts[6])
    usdt = incident.assets.get(symbol="USDT").contract
    for victim in victims:  # the deployer funds every victim with demo USDT
        send_token(node.rpc, token=usdt, sender=accounts[0], to=victim,
                   units=to_base_units(20_000, USDT_DECIMALS))
    plan = [(name, asset) for name, count, asset in CROWD for _ in range(count)]
    rows = []
    for n, (exchange, asset) in enumerate(plan):
        if n and n % 10 == 0:
            node.rpc.call("evm_increaseTime", DAY_SECONDS)
        victim, attacker = victims[n % len(victims)], attackers[n % 2]
        rows.append(_send(node, usdt, n, exchange, asset, victim, attacker))
    return rows


def _send(node: AnvilNode, usdt: str, n: int, exchange: str, asset: str, victim: str, attacker: str) -> dict:
    if asset == "ETH":
        amount = Decimal("0.4") + Decimal(n % 7) / 5
        receipt = send_eth(node.rpc, sender=victim, to=attacker, wei=to_base_units(amount, 18))
        usd = amount * 1260
    else:
        amount = Decimal(900 + 150 * (n % 9))
        receipt = send_token(node.rpc, token=usdt, sender=victim, to=attacker,
                             units=to_base_units(amount, USDT_DECIMALS))
        usd = amount
    # Every fifth claims a good deal more than the transfer shows (claim_exceeds_proof).
    claimed = (usd * (2 if n % 5 == 4 else 1)).quantize(Decimal("1"))
    return {"n": n, "exchange": exchange, "asset": asset, "amount": amount, "victim": victim,
            "attacker": attacker, "tx": receipt["transactionHash"], "claimed": claimed}


def _web_reports(incident: Incident, rows: list[dict]) -> None:
    liaison = _liaison()
    for row in rows:
        exchange = incident.exchanges.get(name=row["exchange"])
        ticket = ticket_for(exchange, 3_000_000 + row["n"]) if row["n"] % 3 else ""
        report = report_create(
            incident=incident, exchange=exchange, claimed_loss_usd=row["claimed"],
            source="api" if row["n"] % 4 == 1 else "web", support_ticket_id=ticket,
            police_report=f"Demo police ref {row['n']}" if row["n"] % 4 == 3 else "",
            notes=f"{NOTE} {row['asset']} drained from the account at {row['exchange']}.",
            claims=[{"chain": CHAIN, "tx_hash": row["tx"], "asset": row["asset"], "amount": row["amount"],
                     "from_address": row["victim"].lower(), "to_address": row["attacker"].lower()}])
        if ticket and row["n"] % 6 in (1, 5):
            answer = AttestationAnswer.DENIED if row["n"] % 12 == 5 else AttestationAnswer.ATTESTED
            TicketAttestation.objects.create(report=report, exchange=exchange, ticket_id=ticket,
                                             answer=answer, answered_by=liaison)


def _contested(incident: Incident, row: dict) -> None:
    """Two more reports cite the first crowd transfer: nobody has bound it, so it counts for none."""
    for n in (1, 2):
        report_create(incident=incident, exchange=incident.exchanges.get(name=row["exchange"]),
                      claimed_loss_usd=Decimal("1500"),
                      notes=f"{NOTE} Cites a transfer another report cites.",
                      claims=[{"chain": CHAIN, "tx_hash": row["tx"], "asset": row["asset"],
                               "amount": row["amount"]}], police_report="" if n == 1 else "Demo police ref X")


def _ticket_only(incident: Incident, mailed_at: datetime) -> None:
    """Five victims who kept only the exchange's support thread: no transfer, so no asset to show.

    Each uploads the support desk's reply, DKIM-signed by the exchange's domain (demo_mail_keys), so
    the dashboard's "DKIM-verified" count has real signatures behind it. They also give the by-asset
    view a "Not stated" row of its own (the few other reports naming no asset join it), so no named
    asset has to be folded to hide a small cell.
    """
    signing = demo_mail_keys(incident)
    for n, name in enumerate(("Binance", "Kraken", "OKX", "Coinbase", "Binance")):
        exchange = incident.exchanges.get(name=name)
        ticket, contact = ticket_for(exchange, 3_900_000 + n), f"thread-{n}@demo.lossproof.test"
        report = report_create(incident=incident, exchange=exchange, claimed_loss_usd=Decimal(700 + 150 * n),
                               support_ticket_id=ticket, contact_email=contact,
                               notes=f"{NOTE} Only the support thread is left; the transfer is not known.",
                               claims=[])
        mail = support_mail(exchange, ticket=ticket, to=contact, sent=mailed_at + timedelta(hours=n),
                            key=signing)
        evidence_attach(report=report, kind=EvidenceKind.SUPPORT_EMAIL, data=mail,
                        original_name=f"ticket-{ticket}.eml")


def demo_mail_keys(incident: Incident) -> bytes:
    """Make a DKIM key for this run, archive its public half for each exchange's support domain
    (selector ``demo``), and return the private key (PEM) that signs the demo's support mails."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(serialization.Encoding.DER,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    domains = {domain for exchange in incident.exchanges.all() for domain in exchange.support_domains}
    DkimKey.objects.filter(incident=incident, selector=MAIL_SELECTOR).delete()
    DkimKey.objects.bulk_create([DkimKey(incident=incident, domain=domain, selector=MAIL_SELECTOR,
                                         public_key=base64.b64encode(public).decode()) for domain in domains])
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


def support_mail(exchange: Exchange, *, ticket: str, to: str, sent: datetime, key: bytes) -> bytes:
    """The exchange's support desk acknowledging the ticket, signed over From, To, Subject and Date."""
    domain = exchange.support_domains[0]
    label = f"Ticket #{ticket}" if "Ticket" in (exchange.ticket_id_regex or "") else f"[{ticket}]"
    headers = [f"From: {exchange.name} Support <support@{domain}>", f"To: {to}",
               f"Subject: Re: {label} Unauthorised withdrawals from my account",
               f"Date: {format_datetime(sent)}", f"Message-ID: <{ticket}@{domain}>", "MIME-Version: 1.0",
               "Content-Type: text/plain; charset=utf-8"]
    body = (f"Hello,\r\n\r\nWe have received your request ({label}) about withdrawals you did not make. "
            "Our security team is looking into it.\r\n")
    raw = ("\r\n".join(headers) + "\r\n\r\n" + body).encode()
    signed = [b"from", b"to", b"subject", b"date", b"message-id"]
    return dkim.sign(raw, MAIL_SELECTOR.encode(), domain.encode(), key, include_headers=signed) + raw


def _chain_now(node: AnvilNode) -> datetime:
    """The demo chain's clock (its latest block), which the demo's mails follow."""
    latest = node.rpc.call("eth_getBlockByNumber", "latest", False)
    return datetime.fromtimestamp(int(latest["timestamp"], 16), tz=UTC)


def _sheet(incident: Incident, rows: list[dict], out_dir: Path) -> None:
    """Import half the crowd as the victims' old shared sheet, and queue its verification."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "demo-crowd.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["reporter", "contact_email", "exchange", "claimed_loss_usd", "loss_date", "chain",
                         "victim_address", "tx_hashes", "support_ticket_id", "police_report"])
        for row in rows:
            writer.writerow([f"Sheet victim {row['n']}", f"sheet-{row['n']}@demo.lossproof.test",
                             row["exchange"], row["claimed"], "2022-11-15", CHAIN, row["victim"], row["tx"],
                             ticket_for(incident.exchanges.get(name=row["exchange"]), 4_000_000 + row["n"])
                             if row["n"] % 4 == 0 else "",
                             f"Sheet police ref {row['n']}" if row["n"] % 3 == 0 else ""])
    call_command("import_reports", str(path), "--incident", SLUG, verbosity=0)
    ids = list(Report.objects.filter(incident=incident, source_file=path.name).values_list("pk", flat=True))
    verify_reports_task.delay(ids)


def ticket_for(exchange, number: int) -> str:
    """Return a ticket id in the exchange's own format (as many digits as its pattern asks)."""
    digits = re.search(r"\{(\d+)\}", exchange.ticket_id_regex or "")
    return str(number).rjust(int(digits.group(1)) if digits else 8, "1")


def _liaison() -> User:
    defaults = {"email": "liaison@demo.lossproof.test", "role": Role.LIAISON}
    return User.objects.get_or_create(username="demo-liaison", defaults=defaults)[0]


def _journalist() -> Journalist:
    """Create or reset the demo journalist, who may open the embargoed preview."""
    account = Journalist(email="journalist@demo.lossproof.test", password=secrets.token_urlsafe(12))
    user, _ = User.objects.get_or_create(username="demo-journalist", defaults={"email": account.email})
    user.role = Role.JOURNALIST
    user.set_password(account.password)
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=user.email,
                                          defaults={"verified": True, "primary": True})
    return account


def demo_decide_and_publish() -> Release:
    """Decide some checked reports as moderators would, then publish a release of the register."""
    incident = Incident.objects.get(slug=SLUG)
    reports = Report.objects.filter(incident=incident, status=ReportStatus.NEEDS_REVIEW).order_by("pk")
    now = timezone.now()
    for n, report in enumerate(reports):
        decision = _decision(n, report)
        if decision:
            status, reason = decision
            Report.objects.filter(pk=report.pk).update(status=status, decision_reason=reason,
                                                       decided_at=now - timedelta(hours=n))
    return release_publish(incident=incident)


def _decision(n: int, report: Report) -> tuple[str, str] | None:
    if report.tier >= "T2" and "claim_exceeds_proof" in report.flags and n % 2 == 0:
        return ReportStatus.PARTIALLY_VERIFIED, "proof_partial"
    if report.tier >= "T2" and n % 3 != 2:
        return ReportStatus.VERIFIED, "proof_sufficient"
    if report.tier < "T2" and n % 2 == 0:
        return ReportStatus.REJECTED, "evidence_insufficient"
    return None  # left for the moderators: the dashboard shows reports still in review too

