"""The anvil fixture makes real transactions that a JSON-RPC client can read back."""

from devtools.chain import deploy_token, send_eth, send_token, to_base_units

TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


def _balance(rpc, address: str) -> int:
    return int(rpc.call("eth_getBalance", address, "latest"), 16)


def test_it_mines_a_native_transfer(anvil):
    sender, recipient = anvil.accounts[1], anvil.accounts[9]
    before = _balance(anvil.rpc, recipient)

    receipt = send_eth(anvil.rpc, sender=sender, to=recipient, wei=to_base_units("0.5", 18))

    assert int(receipt["status"], 16) == 1
    assert _balance(anvil.rpc, recipient) - before == to_base_units("0.5", 18)
    tx = anvil.rpc.call("eth_getTransactionByHash", receipt["transactionHash"])
    assert tx["from"].lower() == sender.lower()


def test_it_deploys_a_token_whose_transfers_emit_transfer_logs(anvil):
    deployer, recipient = anvil.accounts[0], anvil.accounts[8]
    token = deploy_token(anvil.rpc, deployer=deployer, symbol="TST", decimals=6, supply=10**12)

    receipt = send_token(anvil.rpc, token=token, sender=deployer, to=recipient, units=1234)

    (log,) = receipt["logs"]
    assert log["address"].lower() == token
    assert log["topics"][0] == TRANSFER_TOPIC
    assert log["topics"][2][-40:] == recipient.lower()[2:]
    assert int(log["data"], 16) == 1234


def test_a_transfer_beyond_the_balance_is_mined_as_reverted(anvil):
    deployer, poor = anvil.accounts[0], anvil.accounts[7]
    token = deploy_token(anvil.rpc, deployer=deployer, symbol="REV", decimals=0, supply=10)

    receipt = send_token(anvil.rpc, token=token, sender=poor, to=deployer, units=5, gas=100_000)

    assert int(receipt["status"], 16) == 0
    assert receipt["logs"] == []
