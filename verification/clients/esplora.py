"""Esplora's REST API over HTTP: the only way Lossproof reads Bitcoin chains.

- ``EsploraClient.fetch_transactions(txids)`` reads each transaction and the tip height from every
  endpoint of the chain, a few requests at a time (Esplora has no batch call); endpoints must
  agree per transaction, else that transaction gets an error instead of data.
- ``esplora_client_for(caip2)`` returns the process's client for a chain in ``settings.ESPLORA_URLS``.

Errors, call records, snapshots, retries, request limits and the per-process cache come from
``verification.clients.base``, which the EVM client shares, so the verification service treats
both chain families alike. Providers are named ``scheme://host[:port]`` only, because Esplora
URLs of paid services carry API keys in their path or query.
"""

import json
import re
import time
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from functools import partial
from urllib.parse import urlsplit, urlunsplit

from verification.clients.base import (
    CallRecord,
    ChainClient,
    ChainError,
    ChainSnapshot,
    ClientCache,
    TxData,
    mask_url,
    permanent_error,
    split_ids,
    status_error,
    transient_error,
)

TXID_RE = re.compile(r"[0-9a-f]{64}")
TIP = "GET /blocks/tip/height"
TX = "GET /tx/:txid"
MAX_WORKERS = 8  # requests in flight per fetch; public Esplora servers rate-limit bursts


class EsploraClient(ChainClient):
    """REST client for one Bitcoin chain and its Esplora endpoints, reusing connections."""

    missing_endpoints = "no Esplora endpoint configured for chain {caip2} (see ESPLORA_URLS)"
    endpoint_label = "Esplora endpoint"

    def fetch_transactions(self, txids: list[str]) -> ChainSnapshot:
        """Read each transaction from every endpoint and keep only what they all agree on."""
        wanted, invalid = split_ids(txids, TXID_RE, "64 hex digits")
        log: list[CallRecord] = []
        try:
            heads, found = self._read_all(wanted, log)
        except ChainError as error:
            error.calls = log
            raise
        snapshot = ChainSnapshot(caip2=self.caip2, providers=[mask_url(url) for url in self.urls],
                                 head=min(heads), finalized=None, calls=log)
        snapshot.txs = {txid: _agreed(txid, self.urls, found) for txid in wanted}
        snapshot.txs.update({txid: TxData(txid, error=why) for txid, why in invalid.items()})
        return snapshot

    def _read_all(self, txids: list[str], log: list) -> tuple[list[int], dict]:
        """Return every endpoint's tip height and its answer for each transaction."""
        # Tip heights first: an endpoint that is down or misconfigured fails before the rest queue.
        jobs: dict = {url: partial(self._get, url, "blocks/tip/height", TIP, _parse_tip, log)
                      for url in self.urls}
        jobs.update({(url, txid): partial(self._get, url, f"tx/{txid}", TX, _tx_parser(txid), log)
                     for url in self.urls for txid in txids})
        results = _gather(jobs)
        return [results[url] for url in self.urls], results

    # --- one request, retried ----------------------------------------------------------------

    def _get(self, url: str, path: str, method: str, parse: Callable, log: list):
        """GET path under one endpoint up to 1 + retries times, pausing with capped, jittered backoff."""
        return self.retrying(lambda attempt: self._attempt(url, path, method, parse, attempt, log))

    def _attempt(self, url: str, path: str, method: str, parse: Callable, attempt: int, log: list):
        """GET once, parse the answer, and record the attempt whatever its outcome."""
        started = time.monotonic()
        try:
            status, body = self._request(url, path)
            result = parse(url, status, body)
        except ChainError as error:
            self._record(url, method, attempt, started, error, error.detail.get("status", 0), log)
            raise
        self._record(url, method, attempt, started, None, status, log)
        return result

    def _request(self, url: str, path: str) -> tuple[int, bytes]:
        """GET one resource and return its status and body; raise a typed error otherwise."""
        return self.request(url, "GET", _resource(url, path), _check_status)

    def _record(self, url: str, method: str, attempt: int, started: float, error: ChainError | None,
                status: int, log: list) -> None:
        """Append a CallRecord for one HTTP request to the client's and the caller's logs."""
        record = CallRecord(
            provider=mask_url(url), methods={method: 1}, ok=error is None,
            duration_ms=round((time.monotonic() - started) * 1000),
            error=error.detail.get("reason", str(error)) if error else "", attempt=attempt, status=status,
        )
        self.keep_record(record, log)  # requests run on several threads; both logs keep one order


# --- concurrency ---------------------------------------------------------------------------------


def _gather(jobs: dict) -> dict:
    """Run the jobs a few at a time and return their results by key; stop at the first failure."""
    with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, max(1, len(jobs)))) as pool:
        futures: dict[Future, object] = {pool.submit(job): key for key, job in jobs.items()}
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        failed = [future for future in futures if future in done and future.exception()]
        if failed:
            # Requests already running finish (and leave their records); queued ones never start.
            for future in pending:
                future.cancel()
            raise failed[0].exception()
    return {key: future.result() for future, key in futures.items()}


# --- HTTP details --------------------------------------------------------------------------------


def _resource(base: str, path: str) -> str:
    """Return the URL of path under an endpoint, keeping the endpoint's query (often its API key)."""
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"{parts.path.rstrip('/')}/{path}"))


def _check_status(url: str, response) -> None:
    """Raise a typed error for any answer but 2xx or 404, saying whether retrying may help."""
    status = response.status_code
    if 200 <= status < 300 or status == 404:
        return
    raise status_error(url, response)


# --- reading answers -----------------------------------------------------------------------------


def _parse_tip(url: str, status: int, body: bytes) -> int:
    """Return the tip height, or raise: without it nothing can be confirmed."""
    if status == 404:
        raise permanent_error(url, "HTTP 404 for the tip height: not an Esplora API base URL", status=status)
    text = body.decode("ascii", errors="replace").strip()
    if not text.isdigit():
        raise transient_error(url, "tip height is not a number", status=status)
    return int(text)


def _tx_parser(txid: str) -> Callable[[str, int, bytes], dict | None]:
    """Return a parser of the answer for txid: the transaction, or None when not found."""

    def parse(url: str, status: int, body: bytes) -> dict | None:
        if status == 404:
            return None
        try:
            answer = json.loads(body)
        except ValueError:
            raise transient_error(url, "answer is not JSON", status=status) from None
        if not _is_transaction(answer, txid):
            raise transient_error(url, f"answer is not the Esplora transaction {txid}", status=status)
        return answer

    return parse


def _is_transaction(answer, txid: str) -> bool:
    """Say whether answer has the shape of Esplora's transaction txid, as far as the checks read it."""
    if not isinstance(answer, dict) or answer.get("txid") != txid:
        return False
    vin, vout, status = answer.get("vin"), answer.get("vout"), answer.get("status")
    if not (isinstance(vin, list) and isinstance(vout, list) and isinstance(status, dict)):
        return False
    # A coinbase input spends nothing: its prevout is null.
    if not all(isinstance(item, dict) and (item.get("prevout") is None or _is_output(item["prevout"]))
               for item in vin):
        return False
    return all(_is_output(item) for item in vout) and _is_status(status)


def _is_output(item) -> bool:
    value = item.get("value") if isinstance(item, dict) else None
    return type(value) is int and value >= 0


def _is_status(status: dict) -> bool:
    """Say whether a status is unconfirmed, or confirmed with a height, block hash and time."""
    if status.get("confirmed") is not True:
        return True
    height, block_time = status.get("block_height"), status.get("block_time")
    block_hash = status.get("block_hash")
    return (type(height) is int and type(block_time) is int
            and isinstance(block_hash, str) and TXID_RE.fullmatch(block_hash.lower()) is not None)


def _tx_data(txid: str, tx: dict | None) -> TxData:
    """Return what one endpoint said about txid, with its block when the transaction is mined."""
    status = (tx or {}).get("status") or {}
    if tx is None or status.get("confirmed") is not True:
        return TxData(txid, tx=tx)
    block = {"number": status["block_height"], "hash": status["block_hash"].lower(),
             "timestamp": status["block_time"]}
    return TxData(txid, tx=tx, block=block)


# --- agreement between endpoints -----------------------------------------------------------------


def _agreed(txid: str, urls: list[str], found: dict) -> TxData:
    """Return what every endpoint says about txid, or an error naming where they differ."""
    reference = _fingerprint(found[urls[0], txid])
    for url in urls[1:]:
        other = _fingerprint(found[url, txid])
        differing = next((key for key in reference if reference[key] != other[key]), None)
        if differing:
            detail = f"{differing} differs between {mask_url(urls[0])} and {mask_url(url)}"
            return TxData(txid, error=f"providers_disagree: {detail}")
    return _tx_data(txid, found[urls[0], txid])


def _fingerprint(tx: dict | None) -> dict:
    """Return the fields endpoints must agree on: where the transaction is mined and who paid whom."""
    status = (tx or {}).get("status") or {}
    block_hash = status.get("block_hash")
    return {
        "presence": tx is not None,
        "status.confirmed": status.get("confirmed") is True,
        "status.block_hash": block_hash.lower() if isinstance(block_hash, str) else None,
        "status.block_height": status.get("block_height"),
        "vin": [_coin(item.get("prevout")) for item in (tx or {}).get("vin") or []],
        "vout": [_coin(item) for item in (tx or {}).get("vout") or []],
    }


def _coin(output: dict | None) -> tuple | None:
    return None if output is None else (output.get("scriptpubkey_address"), output.get("value"))


# --- one client per chain per process ------------------------------------------------------------

_clients = ClientCache(EsploraClient, "ESPLORA_URLS", "Esplora")


def esplora_client_for(caip2: str) -> EsploraClient:
    """Return this process's client for a chain configured in settings.ESPLORA_URLS."""
    return _clients.get(caip2)
