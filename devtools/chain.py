"""A local anvil node for the demo and the tests, and the few JSON-RPC calls they need.

This is tooling, not the product's chain client (that is verification/clients/evm.py):
it drives anvil's unlocked accounts to make real transactions that the product then checks.
"""

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from eth_abi import encode

ANVIL_CHAIN_ID = 31337
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)
CONTRACTS = Path(__file__).resolve().parent / "contracts"


class ChainToolError(RuntimeError):
    """The local node or compiler could not be started or did not do what was asked."""


def node_bin(name: str) -> Path:
    """Return an npm-installed tool from node_modules/.bin, or explain how to get it."""
    path = settings.BASE_DIR / "node_modules" / ".bin" / name
    if not path.exists():
        raise ChainToolError(f"{path} is missing; run `npm ci` (make does this) to install it.")
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@dataclass
class Rpc:
    """Minimal JSON-RPC over HTTP to a node on this machine."""

    url: str
    _ids: int = 0

    def call(self, method: str, *params):
        self._ids += 1
        body = json.dumps({"jsonrpc": "2.0", "id": self._ids, "method": method, "params": list(params)})
        request = urllib.request.Request(  # noqa: S310 - the URL is our own local node
            self.url, data=body.encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            answer = json.loads(response.read())
        if "error" in answer:
            raise ChainToolError(f"{method} failed: {answer['error']}")
        return answer["result"]


@dataclass
class AnvilNode:
    """A running anvil process on a loopback port, with its ten funded, unlocked accounts."""

    port: int
    process: subprocess.Popen
    state_dir: str
    accounts: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def rpc(self) -> Rpc:
        return Rpc(self.url)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.state_dir, ignore_errors=True)


def anvil_start(*, port: int | None = None, genesis_timestamp: int | None = None) -> AnvilNode:
    """Start anvil and wait until it answers; old states are not kept on disk."""
    port = port or free_port()
    if not port_is_free(port):
        raise ChainToolError(f"port {port} is taken; stop what runs there or choose another port")
    command = [str(node_bin("anvil")), "--host", "127.0.0.1", "--port", str(port), "--silent",
               "--chain-id", str(ANVIL_CHAIN_ID), "--max-persisted-states", "0"]
    if genesis_timestamp is not None:
        command += ["--timestamp", str(genesis_timestamp)]
    # anvil writes caches under ~/.foundry; keep them in a folder we remove at stop.
    state_dir = tempfile.mkdtemp(prefix="lossproof-anvil-")
    env = {**os.environ, "FOUNDRY_DIR": state_dir, "HOME": state_dir}
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    node = AnvilNode(port=port, process=process, state_dir=state_dir)
    node.accounts = _wait_ready(node)
    return node


def _wait_ready(node: AnvilNode, timeout: float = 30.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if node.process.poll() is not None:
            error = node.process.stderr.read().decode(errors="replace")[-500:]
            raise ChainToolError(f"anvil exited with code {node.process.returncode}: {error}")
        try:
            return node.rpc.call("eth_accounts")
        except OSError:
            time.sleep(0.1)
    node.stop()
    raise ChainToolError(f"anvil did not answer on port {node.port} within {timeout:.0f} s")


def wait_receipt(rpc: Rpc, tx_hash: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = rpc.call("eth_getTransactionReceipt", tx_hash)
        if receipt:
            return receipt
        time.sleep(0.05)
    raise ChainToolError(f"no receipt for {tx_hash} after {timeout:.0f} s")


def send_eth(rpc: Rpc, *, sender: str, to: str, wei: int) -> dict:
    """Send native coin from an unlocked account and return the mined receipt."""
    tx_hash = rpc.call("eth_sendTransaction", {"from": sender, "to": to, "value": hex(wei)})
    return wait_receipt(rpc, tx_hash)


def to_base_units(amount: Decimal | str | int, decimals: int) -> int:
    return int(Decimal(amount).scaleb(decimals))


def compile_contract(name: str) -> tuple[str, list]:
    """Compile contracts/NAME.sol with solcjs (npm), cached by source hash; return (bytecode, abi)."""
    source = CONTRACTS / f"{name}.sol"
    digest = hashlib.sha256(source.read_bytes()).hexdigest()[:16]
    out = settings.VAR_DIR / "build" / f"{name}-{digest}"
    stem = f"{name}_sol_{name}"
    if not (out / f"{stem}.bin").exists():
        out.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(node_bin("solcjs")), "--bin", "--abi", "--optimize", "-o", str(out), source.name],
            check=True, capture_output=True, cwd=CONTRACTS,
        )
    bytecode = next(out.glob(f"*{stem}.bin")).read_text().strip()
    abi = json.loads(next(out.glob(f"*{stem}.abi")).read_text())
    return bytecode, abi


def deploy_token(rpc: Rpc, *, deployer: str, symbol: str, decimals: int, supply: int) -> str:
    """Deploy a DemoToken and return its contract address (lowercase)."""
    bytecode, _ = compile_contract("DemoToken")
    args = encode(["string", "string", "uint8", "uint256"], [f"Demo {symbol}", symbol, decimals, supply])
    tx_hash = rpc.call("eth_sendTransaction", {"from": deployer, "data": "0x" + bytecode + args.hex()})
    receipt = wait_receipt(rpc, tx_hash)
    if int(receipt["status"], 16) != 1:
        raise ChainToolError(f"token deployment reverted: {tx_hash}")
    return receipt["contractAddress"].lower()


def transfer_calldata(to: str, units: int) -> str:
    return "0x" + TRANSFER_SELECTOR + encode(["address", "uint256"], [to, units]).hex()


def send_token(rpc: Rpc, *, token: str, sender: str, to: str, units: int, gas: int | None = None) -> dict:
    """Call transfer(to, units) on a token from an unlocked account; return the receipt.

    Passing ``gas`` skips estimation, so a transfer that reverts is still mined (status 0).
    """
    tx = {"from": sender, "to": token, "data": transfer_calldata(to, units)}
    if gas is not None:
        tx["gas"] = hex(gas)
    return wait_receipt(rpc, rpc.call("eth_sendTransaction", tx))
