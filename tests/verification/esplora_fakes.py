"""A tiny local Esplora server for the Bitcoin client's tests, with switches for its faults.

No Bitcoin node runs in the test suite, so this is the network edge: it serves Esplora-shaped
answers for the transactions a test puts in ``txs`` under any base path (API keys in a path or
query are common), and misbehaves as the test says: an HTTP status, Retry-After, a malformed
body, a slow answer, or a block hash of its own for one transaction.
"""

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tests.verification.rpc_fakes import closed_port_url

__all__ = ["FakeEsplora", "block_hash", "closed_port_url", "esplora_tx", "txid"]

TX_PATH_RE = re.compile(r"/tx/(?P<txid>[0-9a-f]{64})$")


def txid(label: str) -> str:
    """Return a real-looking transaction id (64 hex digits) derived from a label."""
    return hashlib.sha256(label.encode()).hexdigest()


def block_hash(label: str) -> str:
    """Return a real-looking block hash: leading zeros, as proof of work leaves them."""
    return "0" * 20 + hashlib.sha256(label.encode()).hexdigest()[:44]


def esplora_tx(tx_id: str, *, inputs: list[tuple[str, int]], outputs: list[tuple[str | None, int]],
               block: tuple[int, str, int] | None = None) -> dict:
    """Return a transaction as Esplora's GET /tx/:txid shows it; block is (height, hash, time)."""
    vin = [{"txid": txid(f"{tx_id}:in:{n}"), "vout": 0, "is_coinbase": False, "sequence": 4294967293,
            "witness": ["30440220" + "11" * 32, "02" + "22" * 32], "scriptsig": "", "scriptsig_asm": "",
            "prevout": _output(address, sats)} for n, (address, sats) in enumerate(inputs)]
    fee = sum(sats for _, sats in inputs) - sum(sats for _, sats in outputs)
    status = {"confirmed": False}
    if block:
        status = {"confirmed": True, "block_height": block[0], "block_hash": block[1], "block_time": block[2]}
    return {"txid": tx_id, "version": 2, "locktime": 0, "vin": vin,
            "vout": [_output(address, sats) for address, sats in outputs],
            "size": 222, "weight": 561, "fee": fee, "status": status}


def _output(address: str | None, sats: int) -> dict:
    if address is None:
        return {"scriptpubkey": "6a", "scriptpubkey_asm": "OP_RETURN", "scriptpubkey_type": "op_return",
                "value": sats}
    return {"scriptpubkey": "0014" + hashlib.sha256(address.encode()).hexdigest()[:40],
            "scriptpubkey_asm": "OP_0 OP_PUSHBYTES_20", "scriptpubkey_type": "v0_p2wpkh",
            "scriptpubkey_address": address, "value": sats}


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Stay quiet when a client gave up on a slow answer (broken pipe): that is the test."""


class FakeEsplora:
    """An Esplora server on a free loopback port; set the switches before or between requests."""

    def __init__(self, txs: dict[str, dict] | None = None, tip: int = 0):
        self.txs = dict(txs or {})  # txid -> Esplora transaction JSON
        self.tip = tip
        self.status = 0  # when set, answer with this HTTP status instead
        self.retry_after: str | None = None  # Retry-After header sent with a faulty answer
        self.malformed = False  # answer 200 with a body that is not what was asked
        self.delay = 0.0  # seconds to wait before a faulty answer; cut short when the server stops
        self.faulty_requests: int | None = None  # how many requests the faults hit; None: all
        self.block_hash_of: dict[str, str] = {}  # txid -> block hash this server claims instead
        self.seen: list[str] = []  # path and query of every request, in arrival order
        self.in_flight = self.most_in_flight = 0
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def add(self, tx: dict) -> str:
        """Serve a transaction and return its txid."""
        self.txs[tx["txid"]] = tx
        return tx["txid"]

    def start(self) -> "FakeEsplora":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> "FakeEsplora":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def answer(self, target: str) -> tuple[int, bytes, dict, float]:
        """Return status, body, headers and delay for a GET of target, faults included."""
        with self._lock:
            self.seen.append(target)
            faulty = self.faulty_requests is None or len(self.seen) <= self.faulty_requests
        return (*self._content(target, faulty), self.delay if faulty else 0.0)

    def _content(self, target: str, faulty: bool) -> tuple[int, bytes, dict]:
        """Return status, body and headers for target, with this request's faults."""
        if faulty and self.status:
            return self.status, b"fault", {"Retry-After": self.retry_after} if self.retry_after else {}
        path = urlsplit(target).path
        if faulty and self.malformed:
            return 200, b"<html>busy" if path.endswith("/height") else b'{"txid": "ab', {}
        if path.endswith("/blocks/tip/height"):
            return 200, str(self.tip).encode(), {}
        match = TX_PATH_RE.search(path)
        tx = self.txs.get(match["txid"]) if match else None
        if tx is None:
            return 404, b"Transaction not found", {}
        return 200, json.dumps(self._as_served(tx)).encode(), {}

    def _as_served(self, tx: dict) -> dict:
        """Return tx with this server's own block hash for it, when the test gave one."""
        forged = self.block_hash_of.get(tx["txid"])
        if forged is None:
            return tx
        return {**tx, "status": {**tx["status"], "block_hash": forged}}

    def count_in_flight(self, change: int) -> None:
        with self._lock:
            self.in_flight += change
            self.most_in_flight = max(self.most_in_flight, self.in_flight)


def _handler_class(fake: FakeEsplora) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real servers
        timeout = 5  # an idle kept-alive connection ends instead of holding its thread

        def do_GET(self):
            fake.count_in_flight(+1)
            try:
                self._reply()
            finally:
                fake.count_in_flight(-1)

        def _reply(self):
            status, body, headers, delay = fake.answer(self.path)
            if delay and fake.stopping.wait(delay):
                return
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json" if body[:1] == b"{" else "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler
