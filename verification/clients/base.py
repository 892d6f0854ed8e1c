"""What every chain client shares: typed errors, call records, retries and HTTP limits.

The EVM (JSON-RPC) and Esplora (REST) clients build on this module and never on each other, so
the verification service treats both chain families alike:

- ``ChainError`` and its two kinds say whether trying again later may help;
- ``CallRecord`` is one HTTP request; ``TxData`` and ``ChainSnapshot`` are what a read returns;
- ``with_retries`` retries transient failures with capped, jittered backoff (or Retry-After);
- ``ChainClient`` holds the endpoints, the pooled session, the bounded request and the records
  (``calls``, ``drain_records``); ``ClientCache`` keeps one client per chain per process.

Providers are named ``scheme://host[:port]`` only (``mask_url``), because endpoint URLs often
carry API keys in their path or query.
"""

import email.utils
import functools
import os
import random
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter

T = TypeVar("T")
MAX_BODY_BYTES = 64 * 1024 * 1024  # far above a 200-call batch of receipts; stops a runaway answer
RECENT_CALLS = 10_000  # client.calls keeps this many records; a cached client lives for the process


class ChainError(Exception):
    """Reading a chain failed; ``transient`` says whether trying again later may help."""

    transient = True

    def __init__(self, message: str, *, provider: str = "", detail: dict | None = None):
        super().__init__(message)
        self.provider = provider
        self.detail = detail or {}
        self.calls: list = []  # CallRecords of the failed operation, for the caller to store


class TransientChainError(ChainError):
    transient = True


class PermanentChainError(ChainError):
    transient = False


@dataclass
class CallRecord:
    """One HTTP request to one endpoint: what was asked, what came back, how long it took."""

    provider: str
    methods: dict[str, int]  # method name -> number of calls in the request
    ok: bool
    duration_ms: int
    error: str = ""
    attempt: int = 1
    status: int = 0  # HTTP status; 0 when no answer came back


@dataclass
class TxData:
    """What the chain says about one transaction (agreed by every endpoint)."""

    tx_hash: str
    tx: dict | None = None  # the transaction as the chain's API returns it; None when not found
    receipt: dict | None = None  # EVM receipt; None when not mined/found (always None on Bitcoin)
    block: dict | None = None  # {"number": int, "hash": str, "timestamp": int}
    error: str = ""  # e.g. "providers_disagree: ..."; set instead of data when not trusted


@dataclass
class ChainSnapshot:
    caip2: str
    providers: list[str]
    head: int  # lowest latest block number among endpoints
    finalized: int | None  # lowest `finalized` block number, None if unsupported
    txs: dict[str, TxData] = field(default_factory=dict)  # keyed by lowercase tx hash
    calls: list[CallRecord] = field(default_factory=list)


@functools.lru_cache(maxsize=256)  # called for every request and transaction; endpoints are few
def mask_url(url: str) -> str:
    """Return scheme://host[:port] of an endpoint, dropping credentials, path and query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


# --- one client ----------------------------------------------------------------------------------


class ChainClient:
    """The endpoints of one chain, a pooled session, bounded requests and the records they leave.

    Subclasses name their endpoints in refusals with ``missing_endpoints`` and ``endpoint_label``.
    """

    missing_endpoints = "no endpoint configured for chain {caip2}"
    endpoint_label = "endpoint"

    def __init__(self, caip2: str, urls: list[str], *, timeout: float = 5.0, retries: int = 3,
                 backoff: float = 0.2, backoff_cap: float = 2.0):
        self._check_endpoints(caip2, urls)
        self.caip2, self.urls = caip2, list(urls)
        self.timeout, self.retries = timeout, max(0, retries)
        self.backoff, self.backoff_cap = backoff, backoff_cap
        self.calls: deque[CallRecord] = deque(maxlen=RECENT_CALLS)
        self.session = new_session(len(self.urls))
        self._records_lock = threading.Lock()

    def drain_records(self) -> list[CallRecord]:
        """Return and forget the records of every request made since the last drain."""
        records = []
        while True:
            try:
                records.append(self.calls.popleft())
            except IndexError:
                return records

    def keep_record(self, record: CallRecord, log: list | None) -> None:
        """Append a record to the client's and the caller's logs, in one order across threads."""
        with self._records_lock:
            self.calls.append(record)
            if log is not None:
                log.append(record)

    def retrying(self, attempt_once: Callable[[int], T], retries: int | None = None) -> T:
        """Call ``attempt_once(attempt)`` with this client's retries and backoff."""
        return with_retries(attempt_once, retries=self.retries if retries is None else retries,
                            backoff=self.backoff, backoff_cap=self.backoff_cap)

    def request(self, url: str, method: str, target: str, check: Callable, **kwargs) -> tuple[int, bytes]:
        """Send one request and return its status and body, bounded in time and size.

        ``check(url, response)`` raises a typed error for the statuses the caller refuses.
        """
        deadline = time.monotonic() + self.timeout
        try:
            # No redirects: a request must not be replayed, API key and all, to another host.
            with self.session.request(method, target, timeout=self.timeout, stream=True,
                                      allow_redirects=False, **kwargs) as response:
                check(url, response)
                return response.status_code, read_body(url, response, deadline)
        except requests.Timeout:
            raise transient_error(url, f"no answer within {self.timeout:g} s") from None
        except requests.RequestException as error:
            raise transient_error(url, f"connection failed: {root_cause(error)}") from None

    def _check_endpoints(self, caip2: str, urls: list[str]) -> None:
        """Refuse a client without endpoints or with one that is not an http(s) URL."""
        if not urls:
            raise PermanentChainError(self.missing_endpoints.format(caip2=caip2))
        for position, url in enumerate(urls, start=1):
            parts = urlsplit(url)
            if parts.scheme not in {"http", "https"} or not parts.hostname:
                # The URL itself stays out of the message: it may hold an API key.
                raise PermanentChainError(
                    f"{self.endpoint_label} {position} of chain {caip2} is not an http(s) URL"
                )


def new_session(endpoints: int) -> requests.Session:
    """Return a Session whose pools keep connections open for many concurrent requests."""
    session = requests.Session()
    # Retries are ours (typed, recorded); urllib3 must not retry behind our back.
    adapter = HTTPAdapter(pool_connections=max(10, endpoints), pool_maxsize=64, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


# --- retries -------------------------------------------------------------------------------------


def with_retries(attempt_once: Callable[[int], T], *, retries: int, backoff: float, backoff_cap: float) -> T:
    """Call ``attempt_once(attempt)`` up to 1 + retries times while it fails transiently."""
    attempt = 1
    while True:
        try:
            return attempt_once(attempt)
        except TransientChainError as error:
            if attempt > retries or not error.detail.get("retry", True):
                raise _gave_up(error, attempt) from None
            pause = _pause(attempt, error, backoff=backoff, backoff_cap=backoff_cap)
        time.sleep(pause)
        attempt += 1


def _pause(attempt: int, error: ChainError, *, backoff: float, backoff_cap: float) -> float:
    """Return how long to wait before the next attempt: Retry-After, else full jitter."""
    retry_after = error.detail.get("retry_after")
    if retry_after is not None:
        return min(retry_after, backoff_cap)
    # Full jitter spreads the retries of many workers hitting the same busy server.
    return random.uniform(0, min(backoff_cap, backoff * 2 ** (attempt - 1)))  # noqa: S311


def _gave_up(error: ChainError, attempts: int) -> TransientChainError:
    """Return the error to raise once a request has used up its attempts."""
    reason = f"{error.detail.get('reason', error)} (gave up after {attempts} attempt(s))"
    return TransientChainError(f"{error.provider}: {reason}", provider=error.provider,
                               detail={**error.detail, "reason": reason, "attempts": attempts})


# --- HTTP and answer details --------------------------------------------------------------------------------


def transient_error(url: str, reason: str, **detail) -> TransientChainError:
    """Return a TransientChainError naming the masked endpoint, with ``reason`` and ``detail``."""
    provider = mask_url(url)
    return TransientChainError(f"{provider}: {reason}", provider=provider,
                               detail={"reason": reason, **detail})


def permanent_error(url: str, reason: str, **detail) -> PermanentChainError:
    """Return a PermanentChainError naming the masked endpoint, with ``reason`` and ``detail``."""
    provider = mask_url(url)
    return PermanentChainError(f"{provider}: {reason}", provider=provider,
                               detail={"reason": reason, **detail})


def status_error(url: str, response: requests.Response, *, split: bool = False) -> ChainError:
    """Return the typed error for an answer that is not 2xx, saying whether retrying may help.

    With ``split``, a server error also says that a smaller request may succeed.
    """
    status = response.status_code
    reason = f"HTTP {status} {response.reason or ''}".strip()
    if status in {429, 503}:
        return transient_error(url, reason, status=status, retry_after=retry_after(response.headers))
    if status == 408:
        return transient_error(url, reason, status=status)
    if status >= 500:
        return transient_error(url, reason, status=status, **({"split": True} if split else {}))
    # Redirects and other 4xx: the endpoint or its key is wrong, asking again cannot help.
    return permanent_error(url, reason, status=status)


def retry_after(headers) -> float | None:
    """Return the seconds a Retry-After header asks for (number or HTTP date), if any."""
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def read_body(url: str, response: requests.Response, deadline: float) -> bytes:
    """Read the answer, bounding its total time and size (a trickling server must not hang us)."""
    chunks, size = [], 0
    for chunk in response.iter_content(256 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise transient_error(url, f"answer larger than {MAX_BODY_BYTES} bytes", status=200, split=True)
        if time.monotonic() > deadline:
            raise requests.Timeout()
    return b"".join(chunks)


def root_cause(error: BaseException) -> str:
    """Name the lowest cause of a connection failure; requests' own messages contain the URL."""
    for _ in range(10):
        cause = getattr(error, "reason", None) or error.__cause__ or error.__context__
        if not isinstance(cause, BaseException):
            break
        error = cause
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return type(error).__name__


def split_ids(values: list[str], pattern: re.Pattern, expected: str) -> tuple[list[str], dict[str, str]]:
    """Return distinct well-formed ids (lowercase, in order) and the malformed ones with why."""
    wanted, invalid = [], {}
    for value in dict.fromkeys(str(value).strip().lower() for value in values):
        if pattern.fullmatch(value):
            wanted.append(value)
        else:
            invalid[value] = f"invalid_hash: expected {expected}"
    return wanted, invalid


def lower(value):
    """Return value lowercased when it is a string, else unchanged."""
    return value.lower() if isinstance(value, str) else value


# --- one client per chain per process ------------------------------------------------------------


class ClientCache:
    """One client per chain per process, rebuilt when its URLs change; empty in a forked child."""

    def __init__(self, factory, setting: str, what: str):
        self.factory, self.setting, self.what = factory, setting, what
        self._clients: dict = {}
        self._lock = threading.Lock()
        # A forked worker must not share the parent's sockets: start it with no clients.
        os.register_at_fork(after_in_child=self._clients.clear)

    def get(self, caip2: str):
        """Return the client for ``caip2`` as configured in the setting, building it if needed."""
        urls = list(getattr(settings, self.setting).get(caip2) or [])
        if not urls:
            raise PermanentChainError(
                f"no {self.what} endpoint configured for chain {caip2} (see {self.setting})"
            )
        with self._lock:
            client = self._clients.get(caip2)
            if client is None or client.urls != urls:
                client = self._clients[caip2] = self.factory(caip2, urls, timeout=settings.CHAIN_RPC_TIMEOUT)
        return client
