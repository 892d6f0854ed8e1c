"""The EVM JSON-RPC client reads real transactions from anvil and fails safely on bad endpoints."""

import json
import math
import time

import pytest

from devtools.chain import send_eth
from tests.verification.rpc_fakes import FakeRpc, Reply, answer_each, closed_port_url, proxy
from verification.clients import evm
from verification.clients.base import PermanentChainError, TransientChainError, mask_url
from verification.clients.evm import EvmClient, client_for

pytestmark = pytest.mark.chain

MADE_UP_HASH = "0x" + "ab" * 32
FAST = {"timeout": 0.5, "retries": 2, "backoff": 0.01, "backoff_cap": 0.05}
ONE_CALL = [("eth_blockNumber", [])]


def fast_client(*urls: str, **options) -> EvmClient:
    return EvmClient("eip155:31337", list(urls), **{**FAST, **options})


def transfer(anvil, wei: int = 10**15) -> dict:
    return send_eth(anvil.rpc, sender=anvil.accounts[1], to=anvil.accounts[2], wei=wei)


@pytest.fixture(scope="module")
def fifty_transfers(anvil) -> list[str]:
    return [transfer(anvil, wei=10**12 + n)["transactionHash"] for n in range(50)]


@pytest.fixture
def two_transfers(anvil) -> tuple[str, str]:
    return transfer(anvil)["transactionHash"], transfer(anvil)["transactionHash"]


def methods_of(seen) -> list[str]:
    return [call["method"] for call in seen.calls]


# --- real anvil -------------------------------------------------------------------------------


def test_it_reads_a_real_transfer_with_the_block_anvil_mined_it_in(anvil):
    receipt = transfer(anvil, wei=123_456_789)

    snapshot = fast_client(anvil.url).fetch_transactions([receipt["transactionHash"]])

    data = snapshot.txs[receipt["transactionHash"]]
    block = anvil.rpc.call("eth_getBlockByNumber", receipt["blockNumber"], False)
    assert data.error == ""
    assert (data.tx["from"], data.tx["to"]) == (anvil.accounts[1].lower(), anvil.accounts[2].lower())
    assert int(data.tx["value"], 16) == 123_456_789
    assert int(data.receipt["status"], 16) == 1
    assert data.block == {"number": int(block["number"], 16), "hash": block["hash"],
                          "timestamp": int(block["timestamp"], 16)}
    assert snapshot.head >= data.block["number"]
    assert snapshot.providers == [anvil.url]


def test_a_made_up_hash_comes_back_without_transaction_or_receipt(anvil):
    snapshot = fast_client(anvil.url).fetch_transactions([MADE_UP_HASH])

    assert snapshot.txs[MADE_UP_HASH] == evm.TxData(MADE_UP_HASH)


def test_two_endpoints_on_the_same_node_agree(anvil, two_transfers):
    snapshot = fast_client(anvil.url, anvil.url).fetch_transactions(list(two_transfers))

    assert [snapshot.txs[tx_hash].error for tx_hash in two_transfers] == ["", ""]
    assert all(snapshot.txs[tx_hash].block for tx_hash in two_transfers)
    assert len(snapshot.calls) == 4 and all(record.ok for record in snapshot.calls)


def test_it_reads_fifty_transactions_in_two_requests_per_endpoint(anvil, fifty_transfers):
    snapshot = fast_client(anvil.url, anvil.url, max_batch=200).fetch_transactions(fifty_transfers)

    assert len(snapshot.calls) == 4
    assert snapshot.calls[0].methods == {"eth_blockNumber": 1, "eth_getBlockByNumber": 1,
                                         "eth_getTransactionByHash": 50, "eth_getTransactionReceipt": 50}
    assert all(snapshot.txs[tx_hash].block for tx_hash in fifty_transfers)


def test_smaller_batches_take_more_requests_for_the_same_answer(anvil, fifty_transfers):
    snapshot = fast_client(anvil.url, max_batch=10).fetch_transactions(fifty_transfers)

    blocks = {snapshot.txs[tx_hash].block["number"] for tx_hash in fifty_transfers}
    assert len(snapshot.calls) == math.ceil(102 / 10) + math.ceil(len(blocks) / 10)
    assert all(sum(record.methods.values()) <= 10 for record in snapshot.calls)
    assert all(snapshot.txs[tx_hash].error == "" for tx_hash in fifty_transfers)


def test_it_asks_once_for_a_hash_given_twice_in_different_case(anvil, two_transfers):
    tx_hash = two_transfers[0]

    snapshot = fast_client(anvil.url).fetch_transactions([tx_hash, tx_hash.upper().replace("0X", "0x")])

    assert list(snapshot.txs) == [tx_hash]
    assert snapshot.calls[0].methods["eth_getTransactionByHash"] == 1


def test_a_malformed_hash_gets_an_error_without_being_sent(anvil):
    snapshot = fast_client(anvil.url).fetch_transactions(["0x1234"])

    assert snapshot.txs["0x1234"].error.startswith("invalid_hash")
    assert "eth_getTransactionByHash" not in snapshot.calls[0].methods


def test_answers_are_matched_by_id_when_a_node_reorders_them(anvil):
    calls = [("eth_chainId", []), ("eth_getBlockByNumber", ["0x0", False]), ("eth_blockNumber", [])]
    with FakeRpc(proxy(anvil.url, rewrite=lambda _calls, answers: answers[::-1])) as node:
        answers = fast_client(node.url).call_batch(node.url, calls)

    assert answers[0]["result"] == hex(31337)
    assert answers[1]["result"]["number"] == "0x0"
    assert answers[2]["result"].startswith("0x")


def test_a_node_error_on_one_transaction_spoils_only_that_transaction(anvil, two_transfers):
    spoiled, fine = two_transfers

    def break_one_receipt_and_finality(calls, answers):
        for call, answer in zip(calls, sorted(answers, key=lambda item: item["id"]), strict=True):
            if call["params"] in ([spoiled], ["finalized", False]):
                answer.pop("result", None)
                answer["error"] = {"code": -32000, "message": "header not found"}
        return answers

    with FakeRpc(proxy(anvil.url, rewrite=break_one_receipt_and_finality)) as node:
        snapshot = fast_client(node.url).fetch_transactions([spoiled, fine])

    assert snapshot.txs[spoiled].error.startswith("rpc_error: ")
    assert "header not found" in snapshot.txs[spoiled].error
    assert snapshot.txs[spoiled].tx is None
    assert snapshot.txs[fine].error == "" and snapshot.txs[fine].block
    assert snapshot.finalized is None


def test_a_receipt_block_hash_that_differs_between_endpoints_is_not_trusted(anvil, two_transfers):
    forged, honest = two_transfers

    def forge_block_hash(calls, answers):
        by_id = {answer["id"]: answer for answer in answers}
        for call in calls:
            if call["method"] == "eth_getTransactionReceipt" and call["params"] == [forged]:
                by_id[call["id"]]["result"]["blockHash"] = "0x" + "66" * 32
        return answers

    with FakeRpc(proxy(anvil.url, rewrite=forge_block_hash)) as liar:
        snapshot = fast_client(anvil.url, liar.url).fetch_transactions([forged, honest])

    assert snapshot.txs[forged].error.startswith("providers_disagree")
    assert "receipt.blockHash" in snapshot.txs[forged].error
    assert (snapshot.txs[forged].tx, snapshot.txs[forged].receipt) == (None, None)
    assert snapshot.txs[honest].error == "" and snapshot.txs[honest].block


def test_it_verifies_nothing_when_one_of_two_endpoints_is_down(anvil, two_transfers):
    client = fast_client(anvil.url, closed_port_url())

    with pytest.raises(TransientChainError) as raised:
        client.fetch_transactions(list(two_transfers))

    assert [record.ok for record in raised.value.calls] == [True, True, False, False, False]
    assert client.drain_records() == raised.value.calls
    assert client.drain_records() == []


def test_a_block_that_changed_between_the_two_round_trips_is_not_trusted(anvil, two_transfers):
    def move_block(calls, answers):
        for answer in answers:
            if isinstance(answer.get("result"), dict) and "timestamp" in answer["result"]:
                answer["result"]["hash"] = "0x" + "77" * 32
        return answers

    with FakeRpc(proxy(anvil.url, rewrite=move_block)) as node:
        snapshot = fast_client(node.url).fetch_transactions([two_transfers[0]])

    assert snapshot.txs[two_transfers[0]].error.startswith("block_changed")
    assert snapshot.txs[two_transfers[0]].block is None


def test_a_batch_a_node_refuses_as_too_large_is_split_until_it_fits(anvil, fifty_transfers):
    def refuse_big_batches(number, body):
        if len(json.loads(body)) > 16:
            return Reply(status=413, body=b"batch too large")
        return proxy(anvil.url)(number, body)

    with FakeRpc(refuse_big_batches) as node:
        snapshot = fast_client(node.url).fetch_transactions(fifty_transfers[:20])

    assert all(snapshot.txs[tx_hash].block for tx_hash in fifty_transfers[:20])
    assert max(len(seen.calls) for seen in node.seen if seen.calls) == 42
    assert {record.status for record in snapshot.calls} == {413, 200}
    assert all(sum(record.methods.values()) <= 16 for record in snapshot.calls if record.ok)


# --- faults -----------------------------------------------------------------------------------


def test_a_closed_port_is_transient_after_every_retry_is_recorded():
    url = closed_port_url()
    client = fast_client(url)

    with pytest.raises(TransientChainError, match="Connection refused") as raised:
        client.call_batch(url, ONE_CALL)

    assert raised.value.provider == url
    assert [(record.attempt, record.ok) for record in client.calls] == [(1, False), (2, False), (3, False)]
    assert all("Connection refused" in record.error for record in client.calls)


def test_an_http_500_is_transient():
    with FakeRpc(lambda number, body: Reply(status=500, body=b"oops")) as node:
        client = fast_client(node.url)
        with pytest.raises(TransientChainError, match="HTTP 500"):
            client.call_batch(node.url, ONE_CALL)

    assert len(node.seen) == 3
    assert [record.status for record in client.calls] == [500, 500, 500]


def test_a_429_is_retried_after_the_capped_retry_after_and_succeeds_once_the_node_recovers():
    def busy_once(number, body):
        if number == 1:
            return Reply(status=429, headers={"Retry-After": "30"})
        return Reply(body=answer_each(body, "0x10"))

    with FakeRpc(busy_once) as node:
        client = fast_client(node.url, backoff_cap=0.3)
        started = time.monotonic()
        answers = client.call_batch(node.url, ONE_CALL)
        elapsed = time.monotonic() - started

    assert answers == [{"jsonrpc": "2.0", "id": 0, "result": "0x10"}]
    assert [(record.status, record.ok) for record in client.calls] == [(429, False), (200, True)]
    assert 0.3 <= elapsed < 2


def test_a_node_that_fails_every_batch_costs_a_bounded_number_of_requests():
    with FakeRpc(lambda number, body: Reply(status=502)) as node:
        client = fast_client(node.url)
        with pytest.raises(TransientChainError, match="HTTP 502"):
            client.call_batch(node.url, ONE_CALL * 8)

    # 3 tries of all 8 calls, one try of 4 and of 2, then 3 tries of the first call alone.
    assert [len(seen.calls) for seen in node.seen] == [8, 8, 8, 4, 2, 1, 1, 1]


def test_a_malformed_answer_is_transient():
    with FakeRpc(lambda number, body: Reply(body=b'[{"jsonrpc": "2.0", "id": 0, "res')) as node:
        client = fast_client(node.url)
        with pytest.raises(TransientChainError, match="not JSON"):
            client.call_batch(node.url, ONE_CALL)

    assert len(client.calls) == 3


def test_an_answer_missing_ids_is_transient():
    with FakeRpc(lambda number, body: Reply(body=b"[]")) as node:
        client = fast_client(node.url)
        with pytest.raises(TransientChainError, match="misses 1 of 1 ids"):
            client.call_batch(node.url, ONE_CALL)

    assert len(node.seen) == 3


def test_a_slow_node_times_out_within_the_retry_budget():
    with FakeRpc(lambda number, body: Reply(body=answer_each(body, "0x1"), delay=3)) as node:
        client = fast_client(node.url, timeout=0.3)
        started = time.monotonic()
        with pytest.raises(TransientChainError, match=r"no answer within 0\.3 s"):
            client.call_batch(node.url, ONE_CALL)
        elapsed = time.monotonic() - started

    assert len(client.calls) == 3
    assert elapsed < 3  # all three attempts gave up before the node would have answered even once


def test_an_http_401_is_permanent_and_not_retried():
    with FakeRpc(lambda number, body: Reply(status=401, body=b"bad key")) as node:
        client = fast_client(node.url)
        with pytest.raises(PermanentChainError, match="HTTP 401"):
            client.call_batch(node.url, ONE_CALL)

    assert len(node.seen) == 1
    assert [record.attempt for record in client.calls] == [1]


def test_a_method_the_node_does_not_know_is_permanent(anvil):
    with pytest.raises(PermanentChainError, match="eth_noSuchMethod: method not found"):
        fast_client(anvil.url).call_batch(anvil.url, [("eth_noSuchMethod", [])])


def test_the_provider_never_shows_credentials_path_or_query():
    with FakeRpc(lambda number, body: Reply(status=500)) as node:
        port = node.url.rsplit(":", 1)[1]
        secret_url = f"http://user:PASSWORD@127.0.0.1:{port}/v3/SECRETKEY?apikey=SECRETQUERY"
        client = fast_client(secret_url)
        with pytest.raises(TransientChainError) as raised:
            client.call_batch(secret_url, ONE_CALL)

    assert node.seen[0].path == "/v3/SECRETKEY?apikey=SECRETQUERY"
    error = raised.value
    shown = " ".join([str(error), error.provider, repr(error.detail), repr(list(client.calls))])
    assert "SECRET" not in shown and "PASSWORD" not in shown
    assert raised.value.provider == f"http://127.0.0.1:{port}"


def test_consecutive_batches_reuse_one_connection():
    with FakeRpc(lambda number, body: Reply(body=answer_each(body, "0x1"))) as node:
        client = fast_client(node.url, max_batch=1)
        client.call_batch(node.url, ONE_CALL * 5)

    assert len(node.seen) == 5
    assert len({seen.client_port for seen in node.seen}) == 1


@pytest.mark.parametrize(("url", "provider"), [
    ("https://user:pw@eth.example:8443/v3/KEY?x=1", "https://eth.example:8443"),
    ("https://eth-mainnet.example/v2/KEY", "https://eth-mainnet.example"),
    ("http://[::1]:8545/", "http://[::1]:8545"),
])
def test_a_provider_is_named_by_scheme_host_and_port_only(url, provider):
    assert mask_url(url) == provider


# --- one client per chain ---------------------------------------------------------------------


def test_client_for_returns_one_client_per_configured_chain(settings, anvil):
    settings.CHAIN_RPC_URLS = {"eip155:31337": [anvil.url]}

    client = client_for("eip155:31337")

    assert client is client_for("eip155:31337")
    assert client.urls == [anvil.url]


def test_client_for_an_unconfigured_chain_is_a_permanent_error_naming_it(settings):
    settings.CHAIN_RPC_URLS = {"eip155:31337": ["http://127.0.0.1:8545"]}

    with pytest.raises(PermanentChainError, match="eip155:999"):
        client_for("eip155:999")
