"""Fixtures for verification tests: an incident on the anvil chain, its token and its prices."""

import json
import threading
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from devtools.chain import AnvilNode, deploy_token, send_eth, send_token, to_base_units
from incidents.models import Asset, AttackerAddress, Incident, IncidentChain, SafelistedAddress
from incidents.services import report_create
from tests.conftest import ANVIL_CAIP2
from verification.models import Price

TOKEN_DECIMALS = 6


@dataclass
class ChainWorld:
    """An anvil node and an incident on it: who is victim, attacker and safelisted."""

    node: AnvilNode
    incident: Incident
    token: str
    victims: list[str]
    attackers: list[str]
    hot_wallet: str

    def send_eth(self, sender: str, to: str, eth: str) -> str:
        return send_eth(self.node.rpc, sender=sender, to=to, wei=to_base_units(eth, 18))["transactionHash"]

    def send_token(self, sender: str, to: str, amount: str, **kwargs) -> str:
        units = to_base_units(amount, TOKEN_DECIMALS)
        receipt = send_token(self.node.rpc, token=self.token, sender=sender, to=to, units=units, **kwargs)
        return receipt["transactionHash"]

    def mine(self, blocks: int) -> None:
        self.node.rpc.call("anvil_mine", hex(blocks))

    def report(self, *claims: dict, **fields):
        claims = [{"chain": ANVIL_CAIP2, **claim} for claim in claims]
        return report_create(incident=self.incident, claims=claims, **fields)


def build_world(node: AnvilNode, *, confirmations: int | None = 1, window: tuple | None = None) -> ChainWorld:
    deployer, *victims = node.accounts[:5]
    attackers, hot_wallet = node.accounts[5:7], node.accounts[7]
    token = deploy_token(node.rpc, deployer=deployer, symbol="TUSD", decimals=TOKEN_DECIMALS,
                         supply=to_base_units(10**9, TOKEN_DECIMALS))
    for victim in victims:
        units = to_base_units(10**6, TOKEN_DECIMALS)
        send_token(node.rpc, token=token, sender=deployer, to=victim, units=units)
    now = datetime.now(UTC)
    start, end = window or (now - timedelta(days=2), now + timedelta(days=2))
    incident = Incident.objects.create(slug=f"chain-{now.timestamp()}", title="Chain incident",
                                       window_start=start, window_end=end, published=True)
    IncidentChain.objects.create(incident=incident, caip2=ANVIL_CAIP2, confirmations=confirmations)
    for address in attackers:
        AttackerAddress.objects.create(incident=incident, chain=ANVIL_CAIP2, address=address.lower())
    SafelistedAddress.objects.create(incident=incident, chain=ANVIL_CAIP2, address=hot_wallet.lower())
    Asset.objects.create(incident=incident, chain=ANVIL_CAIP2, symbol="ETH", decimals=18, contract=None)
    Asset.objects.create(incident=incident, chain=ANVIL_CAIP2, symbol="TUSD", decimals=TOKEN_DECIMALS,
                         contract=token)
    _prices(node)
    return ChainWorld(node, incident, token, [v.lower() for v in victims],
                      [a.lower() for a in attackers], hot_wallet.lower())


def _prices(node: AnvilNode) -> None:
    latest = node.rpc.call("eth_getBlockByNumber", "latest", False)
    day = datetime.fromtimestamp(int(latest["timestamp"], 16), tz=UTC).date()
    for offset in (-1, 0, 1):
        for symbol, usd in (("ETH", Decimal("2000")), ("TUSD", Decimal("1"))):
            Price.objects.update_or_create(symbol=symbol, date=day + timedelta(days=offset),
                                           defaults={"usd": usd})


@pytest.fixture
def chain_settings(settings, anvil):
    settings.CHAIN_RPC_URLS = {ANVIL_CAIP2: [anvil.url]}
    return settings


@pytest.fixture
def world(db, anvil, chain_settings) -> ChainWorld:
    return build_world(anvil)


class _Proxy(BaseHTTPRequestHandler):
    """Forward JSON-RPC to anvil; optionally wait first, or lie about receipts' block hash."""

    upstream = ""
    delay = 0.0
    lie = False
    seen: list

    def do_POST(self):
        self.seen.append(time.monotonic())
        time.sleep(self.delay)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = urllib.request.Request(self.upstream, data=body,  # noqa: S310 - local anvil
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            payload = json.loads(answer.read())
        if self.lie:
            _move_receipts(payload)
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


def _move_receipts(payload) -> None:
    for item in payload if isinstance(payload, list) else [payload]:
        result = item.get("result")
        if isinstance(result, dict) and "logsBloom" in result and "blockHash" in result:
            result["blockHash"] = "0x" + "ee" * 32


@contextmanager
def rpc_proxy(upstream: str, **behaviour):
    """Serve a proxy to ``upstream`` on a loopback port; yield (url, list of request times)."""
    seen: list[float] = []
    handler = type("Proxy", (_Proxy,), {"upstream": upstream, "seen": seen, **behaviour})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def disagreeing_endpoint(anvil):
    """An endpoint on loopback that contradicts anvil about where transactions were mined."""
    with rpc_proxy(anvil.url, lie=True) as (url, _):
        yield url
