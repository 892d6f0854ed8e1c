"""The Esplora client reads Bitcoin transactions safely, and the Bitcoin checks judge them.

No Bitcoin node runs on one machine in this suite, so the client talks to a local fake Esplora
server (the network edge); the checks are pure and get their inputs directly.
"""

import time
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from incidents.models import ClaimStatus
from tests.verification.esplora_fakes import FakeEsplora, block_hash, closed_port_url, esplora_tx, txid
from verification import clients
from verification.checks.bitcoin import bitcoin_transfer_checks
from verification.checks.common import AssetInfo, ClaimInput, IncidentContext
from verification.clients import esplora
from verification.clients.base import PermanentChainError, TransientChainError, TxData
from verification.clients.esplora import TIP, TX, EsploraClient, esplora_client_for
from verification.clients.evm import EvmClient
from verification.models import Outcome
from verification.verdict import CheckView, claim_verdict

BITCOIN = "bip122:000000000019d6689c085ae165831e93"
VICTIM = "bc1qr0w4kkujutvlxz3mygamxk24r5x6yr3hspwd5t"
OTHER_VICTIM = "bc1qxtz0r6g4cr65xfes3ahkr7e35tcu7l9ql8nltx"
ATTACKER = "bc1q7dw9yn4pu3e3vj2lrjlx95q9ggnxrnjmypy22x"
SECOND_ATTACKER = "bc1qc05fd47ef3fz4xzrq9c8l5eyn9eg9trezfran5"
HOT_WALLET = "bc1quz96hm6c2ecx5t9me9hv80l5srp0hd5katpksq"
STRANGER = "bc1q3t9y7dnhf7p2vlzs0juujenefqhze3m8jk9q45"

HEAD = 765_432
MINED_AT = datetime(2022, 11, 20, 14, 5, tzinfo=UTC)
BLOCK = (HEAD - 9, block_hash("block 765423"), int(MINED_AT.timestamp()))  # ten blocks deep
PRICES = {("BTC", date(2022, 11, 20)): Decimal("16500")}
# A patient timeout: on a loaded machine (CI) a 0.3 s one let an attempt end without an answer,
# and tests counting calls or statuses saw one more or another; the timeout test sets its own.
FAST = {"timeout": 5.0, "retries": 2, "backoff": 0.01, "backoff_cap": 0.05}
CHECK_NAMES = ["tx_exists", "tx_succeeded", "tx_confirmed", "in_window", "sender_matches",
               "recipient_is_attacker", "amount_matches", "usd_value"]


@pytest.fixture
def server():
    """A fake Esplora server at the chain tip HEAD, stopped at teardown."""
    with FakeEsplora(tip=HEAD) as fake:
        yield fake


@pytest.fixture
def other_server():
    with FakeEsplora(tip=HEAD) as fake:
        yield fake


def fast_client(*urls: str, **options) -> EsploraClient:
    return EsploraClient(BITCOIN, list(urls), **{**FAST, **options})


def theft(label: str = "theft", *, to: str = ATTACKER, sats: int = 50_000_000, block=BLOCK) -> dict:
    """Return a victim's transaction paying sats to one address, with change back to the victim."""
    return esplora_tx(txid(label), inputs=[(VICTIM, 80_000_000)], outputs=[(to, sats), (VICTIM, 29_990_000)],
                      block=block)


def attempts(records, method: str) -> list[int]:
    return [record.attempt for record in records if method in record.methods]


# --- client: reading transactions ------------------------------------------------------------------


def test_it_reads_a_confirmed_transaction_with_its_block(server):
    tx_id = server.add(theft())

    snapshot = fast_client(server.url).fetch_transactions([tx_id])

    data = snapshot.txs[tx_id]
    assert data.error == "" and data.receipt is None
    assert data.tx == theft()
    assert data.block == {"number": BLOCK[0], "hash": BLOCK[1], "timestamp": BLOCK[2]}
    assert (snapshot.head, snapshot.finalized, snapshot.providers) == (HEAD, None, [server.url])
    assert sorted((record.methods == {TX: 1}, record.ok, record.status) for record in snapshot.calls) == [
        (False, True, 200), (True, True, 200)]


def test_an_unconfirmed_transaction_has_no_block(server):
    tx_id = server.add(theft(block=None))

    data = fast_client(server.url).fetch_transactions([tx_id]).txs[tx_id]

    assert data.tx["status"] == {"confirmed": False}
    assert data.block is None and data.error == ""


def test_an_unknown_transaction_comes_back_empty_and_the_404_is_not_an_error(server):
    unknown = txid("never broadcast")

    snapshot = fast_client(server.url).fetch_transactions([unknown])

    assert snapshot.txs[unknown] == TxData(unknown)
    assert [(record.status, record.ok) for record in snapshot.calls if TX in record.methods] == [(404, True)]


def test_a_malformed_txid_gets_an_error_without_being_sent(server):
    snapshot = fast_client(server.url).fetch_transactions(["0x" + txid("x"), "../blocks/tip/height"])

    assert snapshot.txs["0x" + txid("x")].error.startswith("invalid_hash")
    assert snapshot.txs["../blocks/tip/height"].error.startswith("invalid_hash")
    assert server.seen == ["/blocks/tip/height"]


def test_it_asks_once_for_a_txid_given_twice_in_different_case(server):
    tx_id = server.add(theft())

    snapshot = fast_client(server.url).fetch_transactions([tx_id.upper(), f" {tx_id} "])

    assert list(snapshot.txs) == [tx_id]
    assert server.seen.count(f"/tx/{tx_id}") == 1


def test_it_reads_many_transactions_a_few_at_a_time(server):
    tx_ids = [server.add(theft(f"theft {n}")) for n in range(20)]
    server.delay = 0.05

    snapshot = fast_client(server.url).fetch_transactions(tx_ids)

    assert all(snapshot.txs[tx_id].block for tx_id in tx_ids)
    assert 2 <= server.most_in_flight <= esplora.MAX_WORKERS
    assert len(snapshot.calls) == 21


def test_the_head_is_the_lowest_tip_among_endpoints(server, other_server):
    other_server.tip = HEAD - 2

    snapshot = fast_client(server.url, other_server.url).fetch_transactions([])

    assert snapshot.head == HEAD - 2
    assert snapshot.providers == [server.url, other_server.url]


# --- client: endpoints that disagree ---------------------------------------------------------------


@pytest.mark.parametrize(("alter", "field"), [
    (lambda fake, tx: fake.block_hash_of.update({tx["txid"]: block_hash("a fork")}), "status.block_hash"),
    (lambda fake, tx: fake.add(theft("theft", to=STRANGER)), "vout"),
    (lambda fake, tx: fake.txs.pop(tx["txid"]), "presence"),
])
def test_a_transaction_two_endpoints_describe_differently_is_not_trusted(server, other_server, alter, field):
    honest, altered = theft("honest"), theft("theft")
    for fake in (server, other_server):
        fake.add(honest)
        fake.add(altered)
    alter(other_server, altered)

    snapshot = fast_client(server.url, other_server.url).fetch_transactions([honest["txid"], altered["txid"]])

    data = snapshot.txs[altered["txid"]]
    assert data.error == f"providers_disagree: {field} differs between {server.url} and {other_server.url}"
    assert (data.tx, data.block) == (None, None)
    assert snapshot.txs[honest["txid"]].block and snapshot.txs[honest["txid"]].error == ""


def test_it_verifies_nothing_when_one_of_two_endpoints_is_down(server):
    tx_id = server.add(theft())
    client = fast_client(server.url, closed_port_url())

    with pytest.raises(TransientChainError, match="Connection refused") as raised:
        client.fetch_transactions([tx_id])

    assert {record.ok for record in raised.value.calls} == {True, False}
    assert client.drain_records() == raised.value.calls
    assert client.drain_records() == []


# --- client: faults --------------------------------------------------------------------------------


def test_an_http_500_is_transient_after_every_attempt_is_recorded(server):
    tx_id = server.add(theft())
    server.status = 500
    client = fast_client(server.url)

    with pytest.raises(TransientChainError, match="HTTP 500") as raised:
        client.fetch_transactions([tx_id])

    records = client.drain_records()
    assert records == raised.value.calls
    assert attempts(records, TX) == [1, 2, 3]
    assert {(record.ok, record.status) for record in records} == {(False, 500)}
    assert "gave up after 3 attempt(s)" in str(raised.value)


def test_a_429_is_retried_after_the_capped_retry_after_and_succeeds_once_the_server_recovers(server):
    tx_id = server.add(theft())
    server.status, server.retry_after, server.faulty_requests = 429, "30", 2
    client = fast_client(server.url, backoff_cap=0.3)

    started = time.monotonic()
    snapshot = client.fetch_transactions([tx_id])
    elapsed = time.monotonic() - started

    assert snapshot.txs[tx_id].block
    assert sorted((record.status, record.ok) for record in snapshot.calls) == [
        (200, True), (200, True), (429, False), (429, False)]
    assert 0.3 <= elapsed < 2


def test_a_server_that_keeps_answering_429_is_transient(server):
    server.status, server.retry_after = 429, "0"

    with pytest.raises(TransientChainError, match="HTTP 429") as raised:
        fast_client(server.url).fetch_transactions([txid("anything")])

    assert attempts(raised.value.calls, TX) == [1, 2, 3]


def test_a_malformed_answer_is_transient(server):
    server.add(theft())
    server.malformed = True
    client = fast_client(server.url)

    with pytest.raises(TransientChainError) as raised:
        client.fetch_transactions([txid("theft")])

    errors = {(next(iter(record.methods)), record.error) for record in raised.value.calls}
    assert errors == {(TIP, "tip height is not a number"), (TX, "answer is not JSON")}
    assert len(raised.value.calls) == 6


def test_a_slow_server_times_out_within_the_retry_budget(server):
    server.add(theft())
    server.delay = 3
    client = fast_client(server.url, timeout=0.3)

    started = time.monotonic()
    with pytest.raises(TransientChainError, match=r"no answer within 0\.3 s") as raised:
        client.fetch_transactions([txid("theft")])
    elapsed = time.monotonic() - started

    assert attempts(raised.value.calls, TX) == [1, 2, 3]
    # All three attempts gave up before the server would have answered even once.
    assert elapsed < server.delay


def test_a_closed_port_is_transient():
    client = fast_client(closed_port_url())

    with pytest.raises(TransientChainError, match="Connection refused") as raised:
        client.fetch_transactions([txid("theft")])

    assert attempts(raised.value.calls, TX) == [1, 2, 3]
    assert all("Connection refused" in record.error for record in raised.value.calls)


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_key_is_permanent_and_not_retried(server, status):
    server.status = status

    with pytest.raises(PermanentChainError, match=f"HTTP {status}") as raised:
        fast_client(server.url).fetch_transactions([txid("theft")])

    assert {(record.attempt, record.status) for record in raised.value.calls} == {(1, status)}
    assert len(server.seen) == len(raised.value.calls)


def test_a_base_url_that_is_not_esplora_is_permanent(server):
    server.status = 404

    with pytest.raises(PermanentChainError, match="not an Esplora API base URL"):
        fast_client(server.url).fetch_transactions([txid("theft")])


def test_the_provider_never_shows_credentials_path_or_query(server):
    server.status = 500
    port = server.url.rsplit(":", 1)[1]
    secret_url = f"http://user:PASSWORD@127.0.0.1:{port}/api/SECRETKEY?key=SECRETQUERY"
    client = fast_client(secret_url)

    with pytest.raises(TransientChainError) as raised:
        client.fetch_transactions([txid("theft")])

    assert f"/api/SECRETKEY/tx/{txid('theft')}?key=SECRETQUERY" in server.seen
    error = raised.value
    shown = " ".join([str(error), error.provider, repr(error.detail), repr(client.drain_records())])
    assert "SECRET" not in shown and "PASSWORD" not in shown
    assert error.provider == f"http://127.0.0.1:{port}"


# --- client: one per chain -------------------------------------------------------------------------


def test_esplora_client_for_returns_one_client_per_chain_and_rebuilds_it_when_urls_change(settings):
    settings.ESPLORA_URLS = {BITCOIN: ["https://esplora.example/api"]}
    client = esplora_client_for(BITCOIN)
    assert esplora_client_for(BITCOIN) is client

    settings.ESPLORA_URLS = {BITCOIN: ["https://other.example/api"]}

    assert esplora_client_for(BITCOIN) is not client
    assert esplora_client_for(BITCOIN).urls == ["https://other.example/api"]


def test_esplora_client_for_an_unconfigured_chain_is_a_permanent_error_naming_it(settings):
    settings.ESPLORA_URLS = {}

    with pytest.raises(PermanentChainError, match="bip122:000000000933ea01ad0ee984209779ba"):
        esplora_client_for("bip122:000000000933ea01ad0ee984209779ba")


def test_an_endpoint_that_is_not_http_is_refused_without_showing_it():
    with pytest.raises(PermanentChainError, match="endpoint 1 of chain bip122") as raised:
        EsploraClient(BITCOIN, ["ftp://SECRET@esplora.example"])

    assert "SECRET" not in str(raised.value)


# --- checks ----------------------------------------------------------------------------------------


def incident(*, confirmations: int | None = 3) -> IncidentContext:
    return IncidentContext(
        window_start=datetime(2022, 11, 1, tzinfo=UTC),
        window_end=datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC),
        attackers={(BITCOIN, ATTACKER), (BITCOIN, SECOND_ATTACKER)}, safelisted={(BITCOIN, HOT_WALLET)},
        assets=[(BITCOIN, AssetInfo("BTC", 8, None))], confirmations={BITCOIN: confirmations},
    )


def claim(tx: dict, *, amount: str | None = "0.5", asset: str = "BTC", sender: str = VICTIM) -> ClaimInput:
    return ClaimInput(chain=BITCOIN, tx_hash=tx["txid"], log_index=None, asset=asset,
                      amount=Decimal(amount) if amount else None, from_address=sender)


def mined(tx: dict) -> TxData:
    status = tx["status"]
    return TxData(tx["txid"], tx=tx, block={"number": status["block_height"], "hash": status["block_hash"],
                                             "timestamp": status["block_time"]})


def judge(tx: dict | TxData, *, context: IncidentContext | None = None, head: int = HEAD,
          prices=PRICES, **claimed):
    data = tx if isinstance(tx, TxData) else mined(tx)
    return bitcoin_transfer_checks(claim=claim(data.tx or {"txid": data.tx_hash}, **claimed), data=data,
                                   context=context or incident(), head=head, prices=prices)


def outcome_of(findings, name: str) -> tuple[str, list[str]]:
    check = next(check for check in findings.outcomes if check.name == name)
    return check.outcome, check.reasons


def status_of(findings) -> str:
    return claim_verdict(CheckView(o.name, o.outcome, tuple(o.reasons)) for o in findings.outcomes).status


def test_a_payment_read_from_esplora_to_an_attacker_address_is_verified_and_valued(server):
    tx_id = server.add(theft(sats=50_000_000))
    snapshot = fast_client(server.url).fetch_transactions([tx_id])

    findings = judge(snapshot.txs[tx_id], head=snapshot.head)

    assert [check.name for check in findings.outcomes] == CHECK_NAMES
    assert {check.outcome for check in findings.outcomes} == {Outcome.PASS}
    assert status_of(findings) == ClaimStatus.VERIFIED
    assert (findings.block_number, findings.block_time) == (BLOCK[0], MINED_AT)
    assert findings.usd_value == Decimal("8250.00")
    assert findings.settled  # ten blocks deep, twice the three required is six


def test_outputs_to_several_attacker_addresses_add_up():
    tx = esplora_tx(txid("split"), inputs=[(VICTIM, 100_000_000)],
                    outputs=[(ATTACKER, 30_000_000), (SECOND_ATTACKER, 20_000_000), (VICTIM, 49_990_000)],
                    block=BLOCK)

    findings = judge(tx, amount="0.5")

    assert outcome_of(findings, "amount_matches") == (Outcome.PASS, [])
    assert outcome_of(findings, "recipient_is_attacker") == (Outcome.PASS, [])


def test_a_payment_to_a_safelisted_exchange_wallet_is_not_a_loss_to_an_attacker():
    findings = judge(theft(to=HOT_WALLET))

    assert outcome_of(findings, "recipient_is_attacker") == (Outcome.FAIL, ["recipient_safelisted"])
    assert status_of(findings) == ClaimStatus.MISMATCH


def test_a_safelisted_address_wins_over_the_attacker_list():
    context = incident()
    context.attackers.add((BITCOIN, HOT_WALLET))

    findings = judge(theft(to=HOT_WALLET), context=context)

    assert outcome_of(findings, "recipient_is_attacker") == (Outcome.FAIL, ["recipient_safelisted"])


def test_a_payment_to_someone_else_is_a_mismatch():
    findings = judge(theft(to=STRANGER))

    assert outcome_of(findings, "recipient_is_attacker") == (Outcome.FAIL, ["recipient_not_attacker"])
    assert outcome_of(findings, "amount_matches") == (Outcome.PASS, [])  # what left the victim, change aside
    assert status_of(findings) == ClaimStatus.MISMATCH


def test_a_transaction_the_claimed_sender_did_not_fund_is_a_mismatch():
    findings = judge(theft(), sender=OTHER_VICTIM)

    assert outcome_of(findings, "sender_matches") == (Outcome.FAIL, ["sender_mismatch"])
    assert status_of(findings) == ClaimStatus.MISMATCH


def test_a_claim_without_a_sender_leaves_the_sender_open():
    findings = judge(theft(), sender="")

    assert outcome_of(findings, "sender_matches") == (Outcome.INCONCLUSIVE, [])
    assert status_of(findings) == ClaimStatus.VERIFIED


@pytest.mark.parametrize(("amount", "outcome", "reasons"), [
    ("0.5004", Outcome.PASS, []),  # inside the 0.1% tolerance
    ("0.8", Outcome.FAIL, ["amount_mismatch"]),
    ("0.2999", Outcome.FAIL, ["amount_mismatch"]),
])
def test_the_claimed_amount_must_match_what_the_attacker_received(amount, outcome, reasons):
    findings = judge(theft(sats=50_000_000), amount=amount)

    assert outcome_of(findings, "amount_matches") == (outcome, reasons)


def test_without_a_claimed_amount_the_transferred_amount_is_taken():
    findings = judge(theft(sats=12_345_678), amount=None)

    assert outcome_of(findings, "amount_matches") == (Outcome.PASS, [])
    assert findings.usd_value == (Decimal("0.12345678") * 16500).quantize(Decimal("0.01"))


def test_a_claim_for_another_asset_is_an_asset_mismatch():
    findings = judge(theft(), asset="ETH")

    assert outcome_of(findings, "amount_matches") == (Outcome.FAIL, ["asset_mismatch"])


def test_a_payment_mined_before_the_incident_is_outside_the_window():
    mined_before = (BLOCK[0], BLOCK[1], int(datetime(2022, 10, 30, tzinfo=UTC).timestamp()))

    findings = judge(theft(block=mined_before))

    assert outcome_of(findings, "in_window") == (Outcome.FAIL, [])
    assert status_of(findings) == ClaimStatus.OUTSIDE_WINDOW


def test_a_transaction_still_in_the_mempool_is_pending():
    tx = theft(block=None)

    findings = judge(TxData(tx["txid"], tx=tx))

    assert [(o.name, o.outcome, o.reasons) for o in findings.outcomes] == [
        ("tx_exists", Outcome.INCONCLUSIVE, ["pending"])]
    assert status_of(findings) == ClaimStatus.UNCONFIRMED
    assert findings.usd_value is None and not findings.settled


def test_a_shallow_block_is_unconfirmed_until_deep_enough():
    shallow = judge(theft(), head=BLOCK[0] + 1)
    deep = judge(theft(), head=BLOCK[0] + 2)

    assert outcome_of(shallow, "tx_confirmed") == (Outcome.INCONCLUSIVE, ["unconfirmed"])
    assert status_of(shallow) == ClaimStatus.UNCONFIRMED
    assert outcome_of(deep, "tx_confirmed") == (Outcome.PASS, [])
    assert not deep.settled


def test_a_chain_without_a_required_depth_needs_six_blocks():
    five_deep = judge(theft(), context=incident(confirmations=None), head=BLOCK[0] + 4)
    six_deep = judge(theft(), context=incident(confirmations=None), head=BLOCK[0] + 5)

    assert outcome_of(five_deep, "tx_confirmed") == (Outcome.INCONCLUSIVE, ["unconfirmed"])
    assert outcome_of(six_deep, "tx_confirmed") == (Outcome.PASS, [])


def test_a_missing_price_leaves_the_value_unknown_not_zero():
    findings = judge(theft(), prices={})

    assert outcome_of(findings, "usd_value") == (Outcome.INCONCLUSIVE, ["price_missing"])
    assert findings.usd_value is None
    assert status_of(findings) == ClaimStatus.VERIFIED


def test_the_single_sender_is_named_for_binding():
    assert judge(theft()).sender == VICTIM.lower()


def test_an_unknown_transaction_is_not_found():
    findings = judge(TxData(txid("never broadcast")))

    assert outcome_of(findings, "tx_exists") == (Outcome.FAIL, [])
    assert status_of(findings) == ClaimStatus.NOT_FOUND


def test_endpoints_that_disagree_leave_the_claim_unchecked():
    data = TxData(txid("theft"), error="providers_disagree: vout differs between a and b")

    findings = judge(data)

    assert outcome_of(findings, "tx_exists") == (Outcome.ERROR, ["providers_disagree"])
    assert status_of(findings) == ClaimStatus.UNCHECKED


def test_the_shared_client_for_picks_the_client_by_the_chains_namespace(settings):
    settings.ESPLORA_URLS = {BITCOIN: ["https://esplora.example/api"]}
    settings.CHAIN_RPC_URLS = {"eip155:1": ["https://rpc.example"]}

    bitcoin, ethereum = clients.client_for(BITCOIN), clients.client_for("eip155:1")

    assert isinstance(bitcoin, EsploraClient) and bitcoin is esplora_client_for(BITCOIN)
    assert isinstance(ethereum, EvmClient) and ethereum.urls == ["https://rpc.example"]
    with pytest.raises(PermanentChainError, match="ESPLORA_URLS"):
        clients.client_for("bip122:000000000933ea01ad0ee984209779ba")
