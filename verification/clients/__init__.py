"""Clients of the outside world the checks read: chains (EVM, Esplora) and DNS.

``client_for(caip2)`` returns this process's chain client for a chain, picked by its CAIP-2
namespace: ``bip122:`` chains are read through Esplora, every other (``eip155:``) through JSON-RPC.
Both clients build on ``verification.clients.base`` and never on each other.
"""

from verification.clients import esplora, evm
from verification.clients.base import ChainClient


def client_for(caip2: str) -> ChainClient:
    """Return this process's client for the chain ``caip2``, picked by its namespace."""
    if caip2.startswith("bip122:"):
        return esplora.esplora_client_for(caip2)
    return evm.client_for(caip2)
