"""Ethereum JSON-RPC over HTTP: the only way Lossproof reads EVM chains.

- ``EvmClient.call_batch(url, calls)`` sends JSON-RPC batches to one endpoint with bounded,
  jittered retries, and returns the answers in request order.
- ``EvmClient.fetch_transactions(tx_hashes)`` reads transactions, receipts and their blocks from
  every endpoint of the chain in two round trips each; endpoints must agree per transaction,
  else that transaction gets an error instead of data.
- ``client_for(caip2)`` returns the process's client for a chain in ``settings.CHAIN_RPC_URLS``.

Errors, call records, retries, request limits and the per-process cache come from
``verification.clients.base``, which the Esplora client shares. Every HTTP request leaves a
``CallRecord``; providers are named ``scheme://host[:port]`` only, because RPC URLs often carry
API keys in their path or query.
"""

import json
import re
import time
from collections import Counter
from dataclasses import dataclass
from functools import partial

from verification.clients.base import (
    CallRecord,
    ChainClient,
    ChainError,
    ChainSnapshot,
    ClientCache,
    PermanentChainError,
    TransientChainError,
    TxData,
    lower,
    mask_url,
    permanent_error,
    split_ids,
    status_error,
    transient_error,
)

TX_HASH_RE = re.compile(r"0x[0-9a-f]{64}")
# JSON-RPC codes that say our request is wrong for this node; asking again cannot help.
PERMANENT_RPC_CODES = {-32601: "method not found", -32602: "invalid params"}


@dataclass
class _EndpointView:
    """What one endpoint said, before it is compared with the others."""

    provider: str
    head: int
    finalized: int | None
    txs: dict[str, TxData]


class EvmClient(ChainClient):
    """JSON-RPC client for one EVM chain and its endpoints, reusing connections per endpoint."""

    missing_endpoints = "no RPC endpoint configured for chain {caip2}"

    def __init__(self, caip2: str, urls: list[str], *, timeout: float = 5.0, max_batch: int = 200,
                 retries: int = 3, backoff: float = 0.2, backoff_cap: float = 2.0):
        super().__init__(caip2, urls, timeout=timeout, retries=retries, backoff=backoff,
                         backoff_cap=backoff_cap)
        self.max_batch = max(1, max_batch)

    def fetch_transactions(self, tx_hashes: list[str]) -> ChainSnapshot:
        """Read each transaction from every endpoint and keep only what they all agree on."""
        hashes, invalid = split_ids(tx_hashes, TX_HASH_RE, "0x and 64 hex digits")
        log: list[CallRecord] = []
        try:
            views = [self._read_endpoint(url, hashes, log) for url in self.urls]
        except ChainError as error:
            error.calls = log
            raise
        finalized = [view.finalized for view in views]
        snapshot = ChainSnapshot(
            caip2=self.caip2, providers=[view.provider for view in views], calls=log,
            head=min(view.head for view in views),
            # An endpoint without `finalized` means finality is not confirmed by all of them.
            finalized=None if None in finalized else min(finalized),
        )
        snapshot.txs = {tx_hash: _agreed(tx_hash, views) for tx_hash in hashes}
        snapshot.txs.update({tx_hash: TxData(tx_hash, error=why) for tx_hash, why in invalid.items()})
        return snapshot

    def call_batch(self, url: str, calls: list[tuple[str, list]], *, log: list | None = None,
                   strict: bool = True) -> list[dict]:
        """Send calls as batches of at most max_batch and return the answers in request order.

        With ``strict``, an answer saying method not found or invalid params raises
        PermanentChainError; otherwise error answers are returned for the caller to judge.
        """
        numbered = [(number, method, params) for number, (method, params) in enumerate(calls)]
        answers: dict[int, dict] = {}
        for start in range(0, len(numbered), self.max_batch):
            answers.update(self._send(url, numbered[start:start + self.max_batch], log))
        ordered = [answers[number] for number in range(len(numbered))]
        if strict:
            self._refuse_permanent_errors(url, calls, ordered)
        return ordered

    # --- one endpoint's view -------------------------------------------------------------

    def _read_endpoint(self, url: str, hashes: list[str], log: list) -> _EndpointView:
        """Ask one endpoint for head, finality and every transaction, then their blocks."""
        provider = mask_url(url)
        calls: list[tuple[str, list]] = [("eth_blockNumber", []),
                                         ("eth_getBlockByNumber", ["finalized", False])]
        for tx_hash in hashes:
            calls += [("eth_getTransactionByHash", [tx_hash]), ("eth_getTransactionReceipt", [tx_hash])]
        answers = self.call_batch(url, calls, log=log, strict=False)
        head = _head(provider, answers[0])
        txs = {tx_hash: _tx_data(provider, tx_hash, answers[2 + 2 * n], answers[3 + 2 * n])
               for n, tx_hash in enumerate(hashes)}
        self._attach_blocks(url, txs, log)
        return _EndpointView(provider, head, _finalized(answers[1]), txs)

    def _attach_blocks(self, url: str, txs: dict[str, TxData], log: list) -> None:
        """Fetch each distinct block the receipts point at, and attach it to its transactions."""
        mined = [data for data in txs.values() if data.receipt and not data.error]
        numbers = sorted({_hex_int(data.receipt.get("blockNumber")) for data in mined} - {None})
        if not numbers:
            return
        calls = [("eth_getBlockByNumber", [hex(number), False]) for number in numbers]
        answers = dict(zip(numbers, self.call_batch(url, calls, log=log, strict=False), strict=True))
        for data in mined:
            _set_block(mask_url(url), data, answers.get(_hex_int(data.receipt.get("blockNumber"))))

    # --- batches, retries, splitting ---------------------------------------------------------

    def _send(self, url: str, batch: list[tuple], log: list | None, retries: int | None = None) -> dict:
        """Send one batch with retries; halve it when the endpoint keeps answering it badly."""
        retries = self.retries if retries is None or len(batch) == 1 else retries
        try:
            return self._send_retrying(url, batch, log, retries)
        except TransientChainError as error:
            # Some nodes and proxies refuse big batches (413, 5xx, a truncated answer).
            if len(batch) < 2 or not error.detail.get("split"):
                raise
        half = len(batch) // 2
        # The whole batch had its retries: halves get one try each until down to a single call,
        # so a node that fails everything costs a few requests more, not one per call.
        return {**self._send(url, batch[:half], log, 0), **self._send(url, batch[half:], log, 0)}

    def _send_retrying(self, url: str, batch: list[tuple], log: list | None, retries: int) -> dict:
        """Try one batch up to 1 + retries times, pausing with capped, jittered backoff."""
        return self.retrying(lambda attempt: self._attempt(url, batch, attempt, log), retries)

    def _attempt(self, url: str, batch: list[tuple], attempt: int, log: list | None) -> dict[int, dict]:
        """POST one batch once and record the attempt, whatever its outcome."""
        started = time.monotonic()
        try:
            answers = self._post(url, batch)
        except ChainError as error:
            self._record(url, batch, attempt, started, error, log)
            raise
        self._record(url, batch, attempt, started, None, log)
        return answers

    def _post(self, url: str, batch: list[tuple]) -> dict[int, dict]:
        """POST one JSON-RPC batch and return its answers by id; raise a typed error otherwise."""
        payload = [{"jsonrpc": "2.0", "id": number, "method": method, "params": params}
                   for number, method, params in batch]
        check = partial(_check_status, batch_size=len(batch))
        _, body = self.request(url, "POST", url, check, json=payload)
        return _parse_batch(url, body, [number for number, _, _ in batch])

    def _record(self, url: str, batch: list[tuple], attempt: int, started: float,
                error: ChainError | None, log: list | None) -> None:
        """Append a CallRecord for one HTTP request to the client's and the caller's logs."""
        detail = error.detail if error else {}
        record = CallRecord(
            provider=mask_url(url), methods=dict(Counter(method for _, method, _ in batch)),
            ok=error is None, duration_ms=round((time.monotonic() - started) * 1000),
            error=detail.get("reason", str(error or "")), attempt=attempt,
            status=detail.get("status", 0 if error else 200),
        )
        self.keep_record(record, log)

    def _refuse_permanent_errors(self, url: str, calls: list[tuple], answers: list[dict]) -> None:
        """Raise PermanentChainError when the node says a call's method or params are wrong."""
        for (method, _), answer in zip(calls, answers, strict=True):
            code = _error_code(answer)
            if code in PERMANENT_RPC_CODES:
                reason = f"{method}: {PERMANENT_RPC_CODES[code]} ({_error_text(answer)})"
                raise permanent_error(url, reason, rpc_code=code)


# --- HTTP details ------------------------------------------------------------------------------


def _check_status(url: str, response, *, batch_size: int) -> None:
    """Raise a typed error for any answer but 2xx, saying whether retrying or splitting may help."""
    status = response.status_code
    if 200 <= status < 300:
        return
    if status == 413 and batch_size > 1:
        reason = f"HTTP {status} {response.reason or ''}".strip()
        raise transient_error(url, reason, status=status, split=True, retry=False)
    raise status_error(url, response, split=True)


def _parse_batch(url: str, body: bytes, numbers: list[int]) -> dict[int, dict]:
    """Return a batch's answers by id, or raise if the body is not a complete batch answer."""
    try:
        answer = json.loads(body)
    except ValueError:
        raise transient_error(url, "answer is not JSON", status=200, split=True) from None
    if not isinstance(answer, list):
        kind = type(answer).__name__
        raise transient_error(url, f"answer is a JSON {kind}, not a batch list", status=200, split=True)
    by_id = {item["id"]: item for item in answer if _is_answer(item)}
    missing = [number for number in numbers if number not in by_id]
    if missing:
        reason = f"answer misses {len(missing)} of {len(numbers)} ids"
        raise transient_error(url, reason, status=200, split=True)
    return {number: by_id[number] for number in numbers}


def _is_answer(item) -> bool:
    """Say whether item is a JSON-RPC answer with one of our (integer) ids."""
    return isinstance(item, dict) and type(item.get("id")) is int and ("result" in item or "error" in item)


# --- reading answers ---------------------------------------------------------------------------


def _hex_int(value) -> int | None:
    """Return a JSON-RPC quantity as int, or None when it is not a hex string."""
    if not isinstance(value, str) or not value.startswith(("0x", "0X")):
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _error_code(answer: dict):
    error = answer.get("error")
    return error.get("code") if isinstance(error, dict) else None


def _error_text(answer: dict) -> str:
    """Return a short text for a JSON-RPC error object: code and message."""
    error = answer.get("error")
    if not isinstance(error, dict):
        return str(error)[:200]
    return f"{error.get('code')} {str(error.get('message', ''))[:200]}"


def _head(provider: str, answer: dict) -> int:
    """Return the latest block number, or raise: without it nothing can be confirmed."""
    head = _hex_int(answer.get("result"))
    if head is not None:
        return head
    reason = f"eth_blockNumber failed: {_error_text(answer) if 'error' in answer else 'not a number'}"
    error_class = PermanentChainError if _error_code(answer) in PERMANENT_RPC_CODES else TransientChainError
    raise error_class(f"{provider}: {reason}", provider=provider, detail={"reason": reason})


def _finalized(answer: dict) -> int | None:
    """Return the finalized block number, or None where the node has no such tag."""
    block = answer.get("result")
    return _hex_int(block.get("number")) if isinstance(block, dict) else None


def _tx_data(provider: str, tx_hash: str, tx_answer: dict, receipt_answer: dict) -> TxData:
    """Return one endpoint's TxData from the tx and receipt answers; an error answer spoils both."""
    for answer in (tx_answer, receipt_answer):
        if "error" in answer:
            return TxData(tx_hash, error=f"rpc_error: {provider}: {_error_text(answer)}")
    tx, receipt = tx_answer.get("result"), receipt_answer.get("result")
    if not isinstance(tx, dict | None) or not isinstance(receipt, dict | None):
        return TxData(tx_hash, error=f"rpc_error: {provider}: malformed transaction or receipt")
    return TxData(tx_hash, tx=tx, receipt=receipt)


def _set_block(provider: str, data: TxData, answer: dict | None) -> None:
    """Attach the receipt's block to data, or turn data into an error when it is unreadable."""
    block = (answer or {}).get("result")
    if isinstance(block, dict):
        data.block = {"number": _hex_int(block.get("number")), "hash": lower(block.get("hash")),
                      "timestamp": _hex_int(block.get("timestamp"))}
        return
    detail = f" ({_error_text(answer)})" if answer and "error" in answer else ""
    number = data.receipt.get("blockNumber")
    data.tx = data.receipt = None
    data.error = f"rpc_error: {provider}: block {number} not readable{detail}"


# --- agreement between endpoints ---------------------------------------------------------------


def _agreed(tx_hash: str, views: list[_EndpointView]) -> TxData:
    """Return what every endpoint says about tx_hash, or an error naming where they differ."""
    first = views[0]
    for view in views:
        if view.txs[tx_hash].error:
            return TxData(tx_hash, error=view.txs[tx_hash].error)
    reference = _fingerprint(first.txs[tx_hash])
    for view in views[1:]:
        other = _fingerprint(view.txs[tx_hash])
        differing = next((key for key in reference if reference[key] != other[key]), None)
        if differing:
            detail = f"{differing} differs between {first.provider} and {view.provider}"
            return TxData(tx_hash, error=f"providers_disagree: {detail}")
    return _consistent(first.txs[tx_hash])


def _consistent(data: TxData) -> TxData:
    """Return data, or an error when its receipt's block is no longer the block at that height."""
    if data.block is None or data.block["hash"] == lower(data.receipt.get("blockHash")):
        return data
    # The chain moved between our two round trips (reorg): the view cannot be trusted yet.
    return TxData(data.tx_hash, error="block_changed: the receipt's block is no longer at its height")


def _fingerprint(data: TxData) -> dict:
    """Return the fields endpoints must agree on, normalised so case or zero padding do not count."""
    tx, receipt, block = data.tx or {}, data.receipt or {}, data.block or {}
    return {
        "tx presence": data.tx is not None,
        "receipt presence": data.receipt is not None,
        "tx.from": lower(tx.get("from")),
        "tx.to": lower(tx.get("to")),
        "tx.value": _hex_int(tx.get("value")),
        "tx.input": lower(tx.get("input", tx.get("data"))),
        "tx.blockHash": lower(tx.get("blockHash")),
        "receipt.status": _hex_int(receipt.get("status")),
        "receipt.blockHash": lower(receipt.get("blockHash")),
        "receipt.logs": [_log_fingerprint(entry) for entry in receipt.get("logs") or []],
        "block.hash": lower(block.get("hash")),
    }


def _log_fingerprint(entry: dict) -> tuple:
    topics = tuple(lower(topic) for topic in entry.get("topics") or [])
    return lower(entry.get("address")), topics, lower(entry.get("data")), _hex_int(entry.get("logIndex"))


# --- one client per chain per process ------------------------------------------------------------


_clients = ClientCache(EvmClient, "CHAIN_RPC_URLS", "RPC")


def client_for(caip2: str) -> EvmClient:
    """Return this process's client for a chain configured in settings.CHAIN_RPC_URLS."""
    return _clients.get(caip2)
