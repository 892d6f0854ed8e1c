"""Tiny local HTTP servers that misbehave like real RPC endpoints, for the chain client's fault tests.

Each server listens on a free 127.0.0.1 port, answers every POST through a handler
``handler(number, body) -> Reply`` (``number`` counts requests from 1) and is stopped at teardown.
Proxies forward to the real anvil node, so only the fault is fake, never the chain data.
"""

import json
import socket
import threading
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering; cut short when the server stops


@dataclass
class Seen:
    """One request as the server received it."""

    client_port: int
    path: str
    body: bytes

    @property
    def calls(self) -> list:
        return json.loads(self.body)


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """Stay quiet when a client gave up on a slow answer (broken pipe): that is the test."""


class FakeRpc:
    """An HTTP/1.1 server on a free loopback port that answers POSTs through ``handler``."""

    def __init__(self, handler: Callable[[int, bytes], Reply]):
        self.handler = handler
        self.seen: list[Seen] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.server = _QuietServer(("127.0.0.1", 0), _handler_class(self))
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def reply_to(self, request: BaseHTTPRequestHandler, body: bytes) -> Reply:
        with self._lock:
            self.seen.append(Seen(request.client_address[1], request.path, body))
            number = len(self.seen)
        return self.handler(number, body)

    def __enter__(self) -> "FakeRpc":
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _handler_class(fake: FakeRpc) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real nodes, so connection reuse is visible
        timeout = 5  # an idle kept-alive connection ends instead of holding its thread

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            reply = fake.reply_to(self, body)
            if reply.delay and fake.stopping.wait(reply.delay):
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, *args):
            pass

    return Handler


def closed_port_url() -> str:
    """Return a loopback URL on which nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def forward(target: str, body: bytes) -> bytes:
    """POST body to the real node and return its answer."""
    # Our own local anvil, so urllib's scheme audit (S310) does not apply.
    request = urllib.request.Request(target, data=body, headers={"Content-Type": "application/json"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.read()


def proxy(target: str, rewrite: Callable[[list, list], list] | None = None) -> Callable[[int, bytes], Reply]:
    """Return a handler that forwards to target, optionally rewriting (requests, answers) -> answers."""

    def handle(number: int, body: bytes) -> Reply:
        answer = forward(target, body)
        if rewrite:
            answer = json.dumps(rewrite(json.loads(body), json.loads(answer))).encode()
        return Reply(body=answer)

    return handle


def answer_each(body: bytes, result) -> bytes:
    """Answer every call of a batch request with the same result."""
    answers = [{"jsonrpc": "2.0", "id": call["id"], "result": result} for call in json.loads(body)]
    return json.dumps(answers).encode()
