"""Ethereum JSON-RPC over HTTP: the only way Lossproof reads EVM chains.

Interface (implementation to follow):
- fetch_transactions(tx_hashes) -> ChainSnapshot, with batched requests to every endpoint of
  the chain; endpoints must agree per transaction, else that transaction gets an error.
"""

from dataclasses import dataclass, field


class ChainError(Exception):
    """Reading a chain failed; ``transient`` says whether trying again later may help."""

    transient = True

    def __init__(self, message: str, *, provider: str = "", detail: dict | None = None):
        super().__init__(message)
        self.provider = provider
        self.detail = detail or {}


class TransientChainError(ChainError):
    transient = True


class PermanentChainError(ChainError):
    transient = False


@dataclass
class CallRecord:
    """One HTTP request to one endpoint: what was asked, what came back, how long it took."""

    provider: str
    methods: dict[str, int]  # method name -> number of calls in the batch
    ok: bool
    duration_ms: int
    error: str = ""
    attempt: int = 1


@dataclass
class TxData:
    """What the chain says about one transaction (agreed by every endpoint)."""

    tx_hash: str
    tx: dict | None = None  # eth_getTransactionByHash result; None when not found
    receipt: dict | None = None  # eth_getTransactionReceipt result; None when not mined/found
    block: dict | None = None  # {"number": int, "hash": str, "timestamp": int}
    error: str = ""  # e.g. "providers_disagree: ..."; set instead of data when not trusted


@dataclass
class ChainSnapshot:
    caip2: str
    providers: list[str]
    head: int  # lowest latest block number among endpoints
    finalized: int | None  # lowest `finalized` block number, None if unsupported
    txs: dict[str, TxData] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
