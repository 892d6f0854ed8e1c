"""Seed the demo: an incident modelled on the 2022 API-key leak, with real transfers on anvil.

Everything goes through the product's own commands and services (load_incident,
import_prices, report_create), so the demo shows what a real deployment would hold.
"""

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management import call_command
from django.db import transaction

from accounts.models import Role, User
from devtools.chain import ANVIL_CHAIN_ID, AnvilNode, deploy_token, send_eth, send_token, to_base_units
from incidents.models import Incident, Report
from incidents.services import report_create

SLUG = "api-key-leak-2022"
CHAIN = f"eip155:{ANVIL_CHAIN_ID}"
# The demo chain starts on 15 November 2022, inside the incident window, like the real case.
GENESIS = datetime(2022, 11, 15, 9, 0, tzinfo=UTC)
USDT_DECIMALS = 6


@dataclass
class DemoAccounts:
    admin_password: str
    reporter_email: str
    reporter_password: str


def demo_seed(*, node: AnvilNode, out_dir: Path | None = None) -> DemoAccounts:
    """Make the demo transfers on ``node`` and store the incident, prices, users and reports."""
    out_dir = out_dir or settings.VAR_DIR / "demo"
    out_dir.mkdir(parents=True, exist_ok=True)
    deployer, victim_a, victim_b, victim_c, victim_d, attacker_1, attacker_2, hot_wallet = node.accounts[:8]
    rpc = node.rpc
    usdt = deploy_token(rpc, deployer=deployer, symbol="USDT", decimals=USDT_DECIMALS,
                        supply=to_base_units(10_000_000, USDT_DECIMALS))
    send_token(rpc, token=usdt, sender=deployer, to=victim_b, units=to_base_units(50_000, USDT_DECIMALS))
    drained_eth = send_eth(rpc, sender=victim_a, to=attacker_1, wei=to_base_units("2.5", 18))
    drained_usdt = send_token(rpc, token=usdt, sender=victim_b, to=attacker_2,
                              units=to_base_units(4200, USDT_DECIMALS))
    to_hot_wallet = send_eth(rpc, sender=victim_c, to=hot_wallet, wei=to_base_units(1, 18))

    incident_file = out_dir / "incident.json"
    incident_file.write_text(json.dumps(_incident_json(usdt, (attacker_1, attacker_2), hot_wallet), indent=2))
    call_command("load_incident", str(incident_file), verbosity=0)
    # load_incident never publishes (an admin decides that); the demo shows its incident to all.
    Incident.objects.filter(slug=SLUG).update(published=True)
    prices_file = out_dir / "prices.csv"
    prices_file.write_text(_prices_csv())
    call_command("import_prices", str(prices_file), verbosity=0)

    with transaction.atomic():
        accounts = _users()
        incident = Incident.objects.get(slug=SLUG)
        Report.objects.filter(incident=incident, notes__startswith="[demo]").delete()
        reporter = User.objects.get(username="demo-reporter")
        _reports(incident, reporter, {
            "eth": (victim_a, attacker_1, drained_eth["transactionHash"]),
            "usdt": (victim_b, attacker_2, drained_usdt["transactionHash"]),
            "hot": (victim_c, hot_wallet, to_hot_wallet["transactionHash"]),
        }, other_victim=victim_d)
    return accounts


def _incident_json(usdt: str, attackers: tuple[str, str], hot_wallet: str) -> dict:
    return {
        "slug": SLUG,
        "title": "Trading-bot API key leak (demo)",
        "description": "Demo data on a local chain: leaked exchange API keys were used to drain "
                       "victims' accounts and pump-trade their balances.",
        "window": {"start": "2022-11-01T00:00:00Z", "end": "2022-12-31T23:59:59Z"},
        "tolerance": 0.25,
        "chains": [{"caip2": CHAIN, "confirmations": 1}],
        "attacker_addresses": [
            {"chain": CHAIN, "address": attackers[0], "label": "drainer 1"},
            {"chain": CHAIN, "address": attackers[1], "label": "drainer 2"},
        ],
        "safelisted_addresses": [{"chain": CHAIN, "address": hot_wallet, "label": "exchange hot wallet"}],
        "assets": [
            {"chain": CHAIN, "symbol": "ETH", "decimals": 18, "contract": None},
            {"chain": CHAIN, "symbol": "USDT", "decimals": USDT_DECIMALS, "contract": usdt},
        ],
        "exchanges": [
            {"name": "Binance", "support_domains": ["binance.com"], "ticket_id_regex": r"Ticket #(\d{8})"},
            {"name": "Kraken", "support_domains": ["kraken.com"], "ticket_id_regex": r"\[(\d{7})\]"},
        ],
        "dkim_keys": [],
    }


def _prices_csv() -> str:
    """Synthetic daily prices for the window: demo figures, not market data."""
    lines = ["date,symbol,usd"]
    day = date(2022, 11, 1)
    while day <= date(2022, 12, 31):
        offset = (day - date(2022, 11, 1)).days
        lines.append(f"{day},ETH,{Decimal('1250') + Decimal(offset) * Decimal('1.5')}")
        lines.append(f"{day},USDT,1.00")
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"


def _users() -> DemoAccounts:
    """Create or reset the demo admin and reporter with fresh random passwords."""
    accounts = DemoAccounts(admin_password=secrets.token_urlsafe(12),
                            reporter_email="reporter@demo.lossproof.test",
                            reporter_password=secrets.token_urlsafe(12))
    admin, _ = User.objects.get_or_create(username="admin", defaults={"email": "admin@demo.lossproof.test"})
    admin.is_staff = admin.is_superuser = True
    admin.role = Role.REPORTER  # admins set up; moderators are separate accounts (devtools.moderation_demo)
    admin.set_password(accounts.admin_password)
    admin.save()
    reporter, _ = User.objects.get_or_create(username="demo-reporter",
                                             defaults={"email": accounts.reporter_email})
    reporter.set_password(accounts.reporter_password)
    reporter.save()
    for user in (admin, reporter):  # sign-in by email needs a confirmed address (allauth)
        EmailAddress.objects.update_or_create(user=user, email=user.email,
                                              defaults={"verified": True, "primary": True})
    return accounts


def _reports(incident: Incident, reporter: User, txs: dict[str, tuple[str, str, str]], *,
             other_victim: str) -> None:
    binance = incident.exchanges.get(name="Binance")
    kraken = incident.exchanges.get(name="Kraken")
    sender, recipient, tx_hash = txs["eth"]
    report_create(
        incident=incident, reporter=reporter, exchange=binance, claimed_loss_usd=Decimal("3300"),
        loss_date=date(2022, 11, 15), support_ticket_id="12345678",
        notes="[demo] ETH withdrawn to an attacker after the API key leaked.",
        claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "ETH", "amount": Decimal("2.5"),
                 "from_address": sender, "to_address": recipient}],
    )
    sender, recipient, tx_hash = txs["usdt"]
    report_create(
        incident=incident, exchange=kraken, claimed_loss_usd=Decimal("9000"),
        reporter_name="Demo victim B", contact_email="victim-b@demo.lossproof.test",
        notes="[demo] USDT drained; claims more than the transfer shows.",
        claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "USDT", "amount": Decimal("4200"),
                 "from_address": sender, "to_address": recipient}],
    )
    sender, recipient, tx_hash = txs["hot"]
    report_create(
        incident=incident, exchange=binance, claimed_loss_usd=Decimal("1300"),
        notes="[demo] The cited transfer went to the exchange's own hot wallet.",
        claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "ETH", "amount": Decimal("1"),
                 "from_address": sender, "to_address": recipient}],
    )
    sender, recipient, tx_hash = txs["eth"]
    report_create(
        incident=incident, exchange=binance, claimed_loss_usd=Decimal("5000"),
        notes="[demo] Cites another victim's transfer and one that does not exist.",
        claims=[{"chain": CHAIN, "tx_hash": tx_hash, "asset": "ETH", "amount": Decimal("2.5"),
                 "from_address": other_victim},
                {"chain": CHAIN, "tx_hash": "0x" + "ab" * 32, "asset": "ETH", "amount": Decimal("3")}],
    )
    report_create(incident=incident, exchange=kraken, claimed_loss_usd=Decimal("800"),
                  notes="[demo] Self-reported only: no reference given yet.", claims=[])


GENESIS_TIMESTAMP = int(GENESIS.timestamp())
