"""Behaviour of `manage.py load_incident PATH.json` (README.md, "Incident file")."""

import base64
import copy
import json
import re
from datetime import UTC, datetime, time
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from incidents.models import (
    Asset,
    AttackerAddress,
    Claim,
    ClaimKind,
    DkimKey,
    Exchange,
    Incident,
    IncidentChain,
    Report,
    SafelistedAddress,
)
from incidents.services import report_create

pytestmark = pytest.mark.django_db

ETHEREUM = "eip155:1"
BITCOIN = "bip122:000000000019d6689c085ae165831e93"
# EIP-55 mixed-case addresses (the checksum is in the case of the letters).
ATTACKER = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
OTHER_ATTACKER = "0x59ABf3837Fa962d6853b4Cc0a19513AA031fd32b"
HOT_WALLET = "0x28C6c06298d514Db089934071355E5743bf21d60"
USDT = "0xdAC17F958D2ee523a2206206994597C13D831ec7"
# The same address as ATTACKER with the case of its last letter flipped.
BAD_CHECKSUM = ATTACKER[:-1] + "D"
DKIM_KEY = base64.b64encode(b"lossproof test dkim public key, long enough" * 4).decode()
MODELS = (Incident, IncidentChain, AttackerAddress, SafelistedAddress, Asset, Exchange, DkimKey)

INCIDENT = {
    "slug": "api-key-leak-2022",
    "title": "API key leak 2022",
    "description": "Leaked exchange API keys were used to drain accounts.",
    "window": {"start": "2022-11-01T00:00:00Z", "end": "2022-12-31T23:59:59Z"},
    "tolerance": 0.25,
    "chains": [{"caip2": ETHEREUM, "confirmations": 12}],
    "attacker_addresses": [{"chain": ETHEREUM, "address": ATTACKER, "label": "drainer 1"}],
    "safelisted_addresses": [{"chain": ETHEREUM, "address": HOT_WALLET, "label": "exchange hot wallet"}],
    "assets": [
        {"chain": ETHEREUM, "symbol": "ETH", "decimals": 18, "contract": None},
        {"chain": ETHEREUM, "symbol": "USDT", "decimals": 6, "contract": USDT},
    ],
    "exchanges": [
        {"name": "Binance", "support_domains": ["binance.com"], "ticket_id_regex": r"Ticket #(\d{8})"}
    ],
    "dkim_keys": [
        {"domain": "binance.com", "selector": "s2022", "public_key": DKIM_KEY,
         "valid_from": "2022-01-01", "valid_to": None}
    ],
}


def incident(**changes) -> dict:
    """Return a fresh copy of the example incident with top-level keys replaced."""
    data = copy.deepcopy(INCIDENT)
    data.update(changes)
    return data


def write(tmp_path, data, name="incident.json"):
    path = tmp_path / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def load(path) -> str:
    out = StringIO()
    call_command("load_incident", str(path), stdout=out)
    return out.getvalue()


def load_data(tmp_path, data, name="incident.json") -> str:
    return load(write(tmp_path, data, name))


def refusal(path) -> str:
    """Run the command on a bad file; check it exits with 2 and return its message."""
    with pytest.raises(CommandError) as excinfo:
        load(path)
    assert excinfo.value.returncode == 2
    return str(excinfo.value)


def database_state() -> dict:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in MODELS}


def the_incident() -> Incident:
    return Incident.objects.get(slug=INCIDENT["slug"])


def addresses(model) -> list[tuple]:
    return list(model.objects.order_by("address").values_list("chain", "address", "label"))


def setting(place: str, value):
    """Return a change that sets the value at `place` (``assets[1].decimals``) in the data."""
    *parents, last = [int(key) if key.isdigit() else key for key in re.findall(r"[^.\[\]]+", place)]

    def change(data):
        target = data
        for key in parents:
            target = target[key]
        target[last] = value

    return change


def removing(place: str):
    """Return a change that deletes the key at `place`."""
    *parents, last = place.split(".")

    def change(data):
        target = data
        for key in parents:
            target = target[key]
        del target[last]

    return change


def appending(name: str, item: dict):
    return lambda data: data[name].append(item)


# --- the happy path ------------------------------------------------------------------------------


def test_it_creates_an_incident_with_every_row_of_the_design_example(tmp_path):
    output = load_data(tmp_path, INCIDENT)

    assert "Created incident 'api-key-leak-2022'" in output
    found = the_incident()
    assert found.title == "API key leak 2022"
    assert found.description == "Leaked exchange API keys were used to drain accounts."
    assert found.window_start == datetime(2022, 11, 1, tzinfo=UTC)
    assert found.window_end == datetime(2022, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert found.tolerance == Decimal("0.25")
    assert found.published is False
    assert list(found.chains.values_list("caip2", "confirmations")) == [(ETHEREUM, 12)]
    assert addresses(AttackerAddress) == [(ETHEREUM, ATTACKER.lower(), "drainer 1")]
    assert addresses(SafelistedAddress) == [(ETHEREUM, HOT_WALLET.lower(), "exchange hot wallet")]
    assert list(found.assets.values_list("chain", "symbol", "decimals", "contract")) == [
        (ETHEREUM, "ETH", 18, None),
        (ETHEREUM, "USDT", 6, USDT.lower()),
    ]
    assert list(found.exchanges.values_list("name", "support_domains", "ticket_id_regex")) == [
        ("Binance", ["binance.com"], r"Ticket #(\d{8})")
    ]
    key = found.dkim_keys.get()
    assert (key.domain, key.selector, key.public_key) == ("binance.com", "s2022", DKIM_KEY)
    assert (key.valid_from, key.valid_to) == (datetime(2022, 1, 1, tzinfo=UTC), None)


def test_it_creates_rows_only_for_its_own_incident(tmp_path):
    load_data(tmp_path, INCIDENT)
    load_data(tmp_path, incident(slug="other-breach"), "other.json")

    assert Incident.objects.count() == 2
    for model in MODELS[1:]:
        assert model.objects.filter(incident=the_incident()).count() == model.objects.count() // 2


def test_it_leaves_optional_keys_to_their_defaults(tmp_path):
    data = incident(
        chains=[{"caip2": ETHEREUM}, {"caip2": BITCOIN, "confirmations": None}],
        attacker_addresses=[{"chain": ETHEREUM, "address": ATTACKER}],
        safelisted_addresses=[],
        assets=[{"chain": BITCOIN, "symbol": "BTC", "decimals": 8}],
        exchanges=[{"name": "Binance", "support_domains": ["binance.com"]}],
        dkim_keys=[{"domain": "binance.com", "selector": "s2022", "public_key": DKIM_KEY}],
    )
    del data["description"], data["tolerance"]

    load_data(tmp_path, data)

    found = the_incident()
    assert found.description == ""
    assert found.tolerance == Decimal("0.25")
    assert list(found.chains.values_list("caip2", "confirmations")) == [(BITCOIN, None), (ETHEREUM, None)]
    assert addresses(AttackerAddress) == [(ETHEREUM, ATTACKER.lower(), "")]
    assert list(found.assets.values_list("symbol", "contract")) == [("BTC", None)]
    assert found.exchanges.get().ticket_id_regex == ""
    assert list(found.dkim_keys.values_list("valid_from", "valid_to")) == [(None, None)]


def test_it_accepts_a_file_with_only_the_required_keys(tmp_path):
    load_data(tmp_path, {"slug": "bare", "title": "Bare", "window": INCIDENT["window"]})

    found = Incident.objects.get(slug="bare")
    assert found.tolerance == Decimal("0.25")
    assert all(model.objects.count() == 0 for model in MODELS[1:])


def test_it_reads_a_date_only_window_as_whole_utc_days(tmp_path):
    load_data(tmp_path, incident(window={"start": "2022-11-01", "end": "2022-12-31"}))

    found = the_incident()
    assert found.window_start == datetime(2022, 11, 1, tzinfo=UTC)
    assert found.window_end == datetime.combine(datetime(2022, 12, 31), time.max, tzinfo=UTC)


def test_it_converts_a_window_with_an_offset_to_utc(tmp_path):
    window = {"start": "2022-11-01T02:00:00+02:00", "end": "2022-12-31T23:59:59Z"}

    load_data(tmp_path, incident(window=window))

    assert the_incident().window_start == datetime(2022, 11, 1, tzinfo=UTC)


def test_it_reads_dkim_validity_bounds_given_as_dates_or_date_times(tmp_path):
    keys = [{"domain": "binance.com", "selector": "s2021", "public_key": DKIM_KEY,
             "valid_from": "2021-01-01T12:00:00Z", "valid_to": "2021-12-31"}]

    load_data(tmp_path, incident(dkim_keys=keys))

    key = the_incident().dkim_keys.get()
    assert key.valid_from == datetime(2021, 1, 1, 12, tzinfo=UTC)
    assert key.valid_to == datetime.combine(datetime(2021, 12, 31), time.max, tzinfo=UTC)


def test_it_accepts_a_dkim_key_split_over_several_lines_and_stores_it_compact(tmp_path):
    split = DKIM_KEY[:40] + "\n " + DKIM_KEY[40:]
    keys = [{"domain": "binance.com", "selector": "s2022", "public_key": split}]

    load_data(tmp_path, incident(dkim_keys=keys))

    assert DkimKey.objects.get().public_key == DKIM_KEY


def test_it_normalises_support_domains_to_lowercase_without_the_final_dot(tmp_path):
    exchanges = [{"name": "Binance", "support_domains": [" Binance.COM. ", "support.binance.com"]}]

    load_data(tmp_path, incident(exchanges=exchanges))

    assert Exchange.objects.get().support_domains == ["binance.com", "support.binance.com"]


def test_it_accepts_a_file_with_a_byte_order_mark(tmp_path):
    load(write(tmp_path, b"\xef\xbb\xbf" + json.dumps(INCIDENT).encode()))

    assert Incident.objects.filter(slug=INCIDENT["slug"]).exists()


def test_it_stores_a_checksummed_address_in_lowercase(tmp_path):
    load_data(tmp_path, INCIDENT)

    assert AttackerAddress.objects.get().address == "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"


@pytest.mark.parametrize("spelling", [ATTACKER.lower(), "0x" + ATTACKER[2:].upper()])
def test_it_accepts_an_address_in_one_case_which_carries_no_checksum(tmp_path, spelling):
    attackers = [{"chain": ETHEREUM, "address": spelling}]

    load_data(tmp_path, incident(attacker_addresses=attackers))

    assert AttackerAddress.objects.get().address == ATTACKER.lower()


def test_it_refuses_an_address_with_a_wrong_eip55_checksum(tmp_path):
    attackers = [{"chain": ETHEREUM, "address": BAD_CHECKSUM}]

    message = refusal(write(tmp_path, incident(attacker_addresses=attackers)))

    assert "attacker_addresses[0].address" in message
    assert "checksum" in message
    assert ATTACKER in message  # the expected spelling helps whoever fixes the file
    assert Incident.objects.count() == 0


def test_it_accepts_bitcoin_addresses_on_a_bitcoin_chain(tmp_path):
    chains = [{"caip2": BITCOIN, "confirmations": 6}]
    attackers = [{"chain": BITCOIN, "address": "BC1QAR0SRRR7XFKVY5L643LYDNW9RE59GTZZWF5MDQ"},
                 {"chain": BITCOIN, "address": "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"}]

    load_data(tmp_path, incident(chains=chains, attacker_addresses=attackers, safelisted_addresses=[],
                                 assets=[]))

    assert sorted(AttackerAddress.objects.values_list("address", flat=True)) == [
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq",
    ]


# --- updating an incident by slug ----------------------------------------------------------------


def test_it_changes_nothing_when_the_same_file_is_loaded_twice(tmp_path):
    path = write(tmp_path, INCIDENT)
    load(path)
    counts = {model: model.objects.count() for model in MODELS}
    exchange_pk = Exchange.objects.get().pk

    output = load(path)

    assert "Updated incident 'api-key-leak-2022'" in output
    assert {model: model.objects.count() for model in MODELS} == counts
    assert Exchange.objects.get().pk == exchange_pk


def test_it_updates_an_existing_incident_by_slug(tmp_path):
    load_data(tmp_path, INCIDENT)
    incident_pk = the_incident().pk
    changed = incident(
        title="API key leak (revised)", tolerance=0.5, window={"start": "2022-10-15T00:00:00Z",
                                                               "end": "2023-01-15T00:00:00Z"},
        chains=[{"caip2": ETHEREUM, "confirmations": 64}],
        attacker_addresses=[{"chain": ETHEREUM, "address": OTHER_ATTACKER, "label": "drainer 2"}],
        assets=[{"chain": ETHEREUM, "symbol": "ETH", "decimals": 18, "contract": None}],
        dkim_keys=[{"domain": "binance.com", "selector": "s2023", "public_key": DKIM_KEY}],
    )

    load_data(tmp_path, changed, "changed.json")

    found = the_incident()
    assert found.pk == incident_pk
    assert Incident.objects.count() == 1
    assert (found.title, found.tolerance) == ("API key leak (revised)", Decimal("0.5"))
    assert found.window_start == datetime(2022, 10, 15, tzinfo=UTC)
    assert list(found.chains.values_list("caip2", "confirmations")) == [(ETHEREUM, 64)]
    assert addresses(AttackerAddress) == [(ETHEREUM, OTHER_ATTACKER.lower(), "drainer 2")]
    assert list(Asset.objects.values_list("symbol", flat=True)) == ["ETH"]
    assert list(DkimKey.objects.values_list("selector", flat=True)) == ["s2023"]


def test_it_removes_addresses_that_the_new_file_leaves_out(tmp_path):
    load_data(tmp_path, incident(attacker_addresses=[
        {"chain": ETHEREUM, "address": ATTACKER}, {"chain": ETHEREUM, "address": OTHER_ATTACKER},
    ]))

    load_data(tmp_path, incident(attacker_addresses=[{"chain": ETHEREUM, "address": OTHER_ATTACKER}],
                                 safelisted_addresses=[]), "changed.json")

    assert addresses(AttackerAddress) == [(ETHEREUM, OTHER_ATTACKER.lower(), "")]
    assert SafelistedAddress.objects.count() == 0


def test_it_empties_lists_whose_keys_the_new_file_leaves_out(tmp_path):
    load_data(tmp_path, INCIDENT)

    bare = {"slug": INCIDENT["slug"], "title": "Bare", "window": INCIDENT["window"]}

    load_data(tmp_path, bare, "bare.json")

    assert Incident.objects.count() == 1
    assert all(model.objects.count() == 0 for model in MODELS[1:])
    assert the_incident().description == ""


def test_it_lets_an_address_move_from_attacker_to_safelisted_on_reload(tmp_path):
    load_data(tmp_path, INCIDENT)

    load_data(tmp_path, incident(attacker_addresses=[], safelisted_addresses=[
        {"chain": ETHEREUM, "address": ATTACKER, "label": "was a router after all"},
    ]), "changed.json")

    assert AttackerAddress.objects.count() == 0
    assert addresses(SafelistedAddress) == [(ETHEREUM, ATTACKER.lower(), "was a router after all")]


def test_it_keeps_an_incident_published_when_it_is_reloaded(tmp_path):
    load_data(tmp_path, INCIDENT)
    Incident.objects.filter(slug=INCIDENT["slug"]).update(published=True)

    load_data(tmp_path, incident(title="Revised"), "changed.json")

    assert the_incident().published is True


def test_it_updates_an_exchange_in_place_so_reports_keep_pointing_at_it(tmp_path):
    load_data(tmp_path, INCIDENT)
    report = report_create(incident=the_incident(), claims=[], exchange=Exchange.objects.get())
    changed = [{"name": "Binance", "support_domains": ["binance.com", "binance.us"],
                "ticket_id_regex": r"Case (\d+)"}]

    load_data(tmp_path, incident(exchanges=changed), "changed.json")

    exchange = Report.objects.get(pk=report.pk).exchange
    assert exchange.support_domains == ["binance.com", "binance.us"]
    assert exchange.ticket_id_regex == r"Case (\d+)"
    assert Exchange.objects.count() == 1


def test_it_removes_an_exchange_that_no_report_cites(tmp_path):
    load_data(tmp_path, incident(exchanges=[*INCIDENT["exchanges"], {"name": "Kraken",
                                                                    "support_domains": ["kraken.com"]}]))

    load_data(tmp_path, INCIDENT, "changed.json")

    assert list(Exchange.objects.values_list("name", flat=True)) == ["Binance"]


def test_it_refuses_to_remove_an_exchange_cited_by_a_report_and_writes_nothing(tmp_path):
    load_data(tmp_path, INCIDENT)
    report_create(incident=the_incident(), claims=[], exchange=Exchange.objects.get())
    before = database_state()
    kraken = [{"name": "Kraken", "support_domains": ["kraken.com"]}]

    message = refusal(write(tmp_path, incident(title="Revised", exchanges=kraken), "changed.json"))

    assert "exchanges" in message
    assert "Binance" in message
    assert database_state() == before


def test_it_refuses_to_remove_an_exchange_cited_only_by_a_trade_loss_claim(tmp_path):
    load_data(tmp_path, incident(exchanges=[*INCIDENT["exchanges"], {"name": "Kraken",
                                                                    "support_domains": ["kraken.com"]}]))
    kraken = Exchange.objects.get(name="Kraken")
    report_create(incident=the_incident(), exchange=Exchange.objects.get(name="Binance"),
                  claims=[{"kind": ClaimKind.TRADE_LOSS, "exchange": kraken}])
    before = database_state()

    message = refusal(write(tmp_path, INCIDENT, "changed.json"))

    assert "Kraken" in message
    assert database_state() == before
    assert Claim.objects.get().exchange == kraken


# --- bad input: exit code 2, a message naming the place, nothing written ----------------------------


BAD_CHANGES = [
    # Fields the format does not know.
    pytest.param(setting("owner", "me"), "owner", "unknown field", id="unknown-top-level-field"),
    pytest.param(setting("window.timezone", "UTC"), "window.timezone", "unknown field",
                 id="unknown-window-field"),
    pytest.param(setting("chains[0].rpc_url", "http://x"), "chains[0].rpc_url", "unknown field",
                 id="unknown-chain-field"),
    pytest.param(setting("attacker_addresses[0].note", "x"), "attacker_addresses[0].note", "unknown field",
                 id="unknown-address-field"),
    pytest.param(setting("dkim_keys[0].algorithm", "rsa"), "dkim_keys[0].algorithm", "unknown field",
                 id="unknown-dkim-field"),
    # Required fields and their types.
    pytest.param(removing("slug"), "slug", "is required", id="no-slug"),
    pytest.param(removing("title"), "title", "is required", id="no-title"),
    pytest.param(removing("window"), "window", "is required", id="no-window"),
    pytest.param(removing("window.end"), "window.end", "is required", id="no-window-end"),
    pytest.param(setting("attacker_addresses[0]", {"chain": ETHEREUM}), "attacker_addresses[0].address",
                 "is required", id="address-without-address"),
    pytest.param(setting("exchanges[0]", {"name": "Binance"}), "exchanges[0].support_domains", "is required",
                 id="exchange-without-domains"),
    pytest.param(setting("title", "   "), "title", "must not be empty", id="blank-title"),
    pytest.param(setting("title", "x" * 201), "title", "longer than 200", id="long-title"),
    pytest.param(setting("slug", "API Key Leak"), "slug", "lowercase", id="slug-with-spaces"),
    pytest.param(setting("slug", "api-key-leak\n"), "slug", "lowercase", id="slug-with-a-newline"),
    pytest.param(setting("window", "2022"), "window", "JSON object", id="window-not-an-object"),
    pytest.param(setting("chains", {"caip2": ETHEREUM}), "chains", "JSON array", id="chains-not-an-array"),
    pytest.param(setting("attacker_addresses[0]", ATTACKER), "attacker_addresses[0]", "JSON object",
                 id="address-not-an-object"),
    # Chains.
    pytest.param(setting("chains[0].caip2", "eth:1"), "chains[0].caip2", "eip155", id="chain-eth-1"),
    pytest.param(setting("chains[0].caip2", "eip155:abc"), "chains[0].caip2", "decimal chain id",
                 id="chain-eip155-abc"),
    pytest.param(setting("chains[0].caip2", "eip155"), "chains[0].caip2", "CAIP-2",
                 id="chain-without-reference"),
    pytest.param(setting("chains[0].caip2", 1), "chains[0].caip2", "CAIP-2", id="chain-as-number"),
    pytest.param(appending("chains", {"caip2": ETHEREUM}), "chains[1].caip2", "listed twice",
                 id="duplicated-chain"),
    pytest.param(setting("chains[0].confirmations", -1), "chains[0].confirmations", "whole number",
                 id="negative-confirmations"),
    pytest.param(setting("chains[0].confirmations", 12.5), "chains[0].confirmations", "whole number",
                 id="fractional-confirmations"),
    pytest.param(setting("chains[0].confirmations", "12"), "chains[0].confirmations", "whole number",
                 id="confirmations-as-text"),
    pytest.param(setting("chains[0].confirmations", 10**20), "chains[0].confirmations", "whole number",
                 id="absurd-confirmations"),
    pytest.param(setting("attacker_addresses[0].chain", "eip155:10"), "attacker_addresses[0].chain",
                 "not one of the incident's chains", id="address-on-unknown-chain"),
    pytest.param(setting("assets[1].chain", "eip155:137"), "assets[1].chain",
                 "not one of the incident's chains", id="asset-on-unknown-chain"),
    # Addresses.
    pytest.param(setting("attacker_addresses[0].address", "0x1234"), "attacker_addresses[0].address",
                 "not an EVM address", id="short-address"),
    pytest.param(setting("attacker_addresses[0].address", "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed00"),
                 "attacker_addresses[0].address", "not an EVM address", id="address-without-0x"),
    pytest.param(setting("safelisted_addresses[0].address", BAD_CHECKSUM), "safelisted_addresses[0].address",
                 "checksum", id="safelisted-bad-checksum"),
    pytest.param(setting("assets[1].contract", USDT[:-1] + "8"), "assets[1].contract", "checksum",
                 id="contract-bad-checksum"),
    pytest.param(setting("attacker_addresses[0].address", None), "attacker_addresses[0].address",
                 "must be an address string", id="address-null"),
    pytest.param(appending("attacker_addresses", {"chain": ETHEREUM, "address": ATTACKER.lower()}),
                 "attacker_addresses[1].address", "listed twice", id="duplicated-attacker"),
    pytest.param(setting("safelisted_addresses[0].address", ATTACKER.lower()),
                 "attacker_addresses[0].address", "also safelisted", id="attacker-also-safelisted"),
    pytest.param(setting("attacker_addresses[0].label", "x" * 201), "attacker_addresses[0].label",
                 "longer than 200", id="long-label"),
    # Window and tolerance.
    pytest.param(setting("window.end", "2022-10-31T23:59:59Z"), "window.end", "before",
                 id="window-ends-before-start"),
    pytest.param(setting("window.end", "2022-11-01T00:00:00Z"), "window.end", "equal", id="window-empty"),
    pytest.param(setting("window.start", "2022-11-01T00:00:00"), "window.start", "time zone",
                 id="window-without-time-zone"),
    pytest.param(setting("window.start", "yesterday"), "window.start", "ISO 8601", id="window-not-a-date"),
    pytest.param(setting("window.start", "2022-13-01T00:00:00Z"), "window.start", "ISO 8601",
                 id="window-impossible-month"),
    pytest.param(setting("window.end", "2022-02-30"), "window.end", "ISO 8601", id="window-impossible-day"),
    pytest.param(setting("window.start", 1667260800), "window.start", "ISO 8601", id="window-as-timestamp"),
    pytest.param(setting("tolerance", 10.5), "tolerance", "between 0 and 10", id="tolerance-too-high"),
    pytest.param(setting("tolerance", -0.1), "tolerance", "between 0 and 10", id="tolerance-negative"),
    pytest.param(setting("tolerance", "0.25"), "tolerance", "must be a number", id="tolerance-as-text"),
    pytest.param(setting("tolerance", True), "tolerance", "must be a number", id="tolerance-as-boolean"),
    # Assets.
    pytest.param(setting("assets[0].decimals", -1), "assets[0].decimals", "0 to 36", id="negative-decimals"),
    pytest.param(setting("assets[0].decimals", 37), "assets[0].decimals", "0 to 36", id="too-many-decimals"),
    pytest.param(setting("assets[0].decimals", 18.0), "assets[0].decimals", "whole number",
                 id="fractional-decimals"),
    pytest.param(setting("assets[0].decimals", True), "assets[0].decimals", "whole number",
                 id="decimals-as-boolean"),
    pytest.param(setting("assets[1].symbol", "ETH"), "assets[1].symbol", "listed twice",
                 id="duplicated-symbol"),
    pytest.param(setting("assets[1].contract", None), "assets[1].contract", "already has a native asset",
                 id="two-native-assets"),
    pytest.param(appending("assets", {"chain": ETHEREUM, "symbol": "USDT2", "decimals": 6,
                                      "contract": USDT.lower()}), "assets[2].contract", "listed twice",
                 id="duplicated-contract"),
    pytest.param(setting("assets[0].symbol", ""), "assets[0].symbol", "must not be empty", id="empty-symbol"),
    # Exchanges.
    pytest.param(setting("exchanges[0].ticket_id_regex", r"Ticket #(\d{8}"), "exchanges[0].ticket_id_regex",
                 "not a valid regular expression", id="invalid-regex"),
    pytest.param(setting("exchanges[0].ticket_id_regex", r"Ticket #\d{8}"), "exchanges[0].ticket_id_regex",
                 "capturing group", id="regex-without-group"),
    pytest.param(setting("exchanges[0].ticket_id_regex", r"Ticket #(?:\d{8})"),
                 "exchanges[0].ticket_id_regex", "capturing group", id="regex-with-a-non-capturing-group"),
    pytest.param(setting("exchanges[0].support_domains", ["binance"]), "exchanges[0].support_domains[0]",
                 "not a domain name", id="domain-without-tld"),
    pytest.param(setting("exchanges[0].support_domains", ["https://binance.com"]),
                 "exchanges[0].support_domains[0]", "not a domain name", id="domain-as-url"),
    pytest.param(setting("exchanges[0].support_domains", "binance.com"), "exchanges[0].support_domains",
                 "JSON array", id="domains-not-an-array"),
    pytest.param(appending("exchanges", {"name": "BINANCE", "support_domains": ["binance.com"]}),
                 "exchanges[1].name", "listed twice", id="duplicated-exchange"),
    # DKIM keys.
    pytest.param(setting("dkim_keys[0].public_key", "not base64!"), "dkim_keys[0].public_key",
                 "not valid base64", id="dkim-key-not-base64"),
    pytest.param(setting("dkim_keys[0].public_key", "AAAA"), "dkim_keys[0].public_key", "too short",
                 id="dkim-key-too-short"),
    pytest.param(setting("dkim_keys[0].selector", "s 2022"), "dkim_keys[0].selector", "DKIM selector",
                 id="dkim-selector-with-space"),
    pytest.param(setting("dkim_keys[0].selector", "s2022\n"), "dkim_keys[0].selector", "DKIM selector",
                 id="dkim-selector-with-newline"),
    pytest.param(setting("dkim_keys[0].domain", "binance com"), "dkim_keys[0].domain", "not a domain name",
                 id="dkim-bad-domain"),
    pytest.param(setting("dkim_keys[0].valid_to", "2021-12-31"), "dkim_keys[0].valid_to", "before valid_from",
                 id="dkim-validity-reversed"),
    pytest.param(setting("dkim_keys[0].valid_from", "2022-01-01T00:00:00"), "dkim_keys[0].valid_from",
                 "time zone", id="dkim-validity-without-time-zone"),
    pytest.param(appending("dkim_keys", {"domain": "binance.com", "selector": "s2022",
                                         "public_key": DKIM_KEY}),
                 "dkim_keys[1]", "listed twice", id="duplicated-dkim-key"),
]


@pytest.fixture(params=["new incident", "existing incident"])
def existing(request, tmp_path):
    """Start from an empty database, or from the incident already loaded with an older title."""
    if request.param == "existing incident":
        load_data(tmp_path, incident(title="Loaded earlier"), "earlier.json")
    return database_state()


@pytest.mark.parametrize(("change", "place", "problem"), BAD_CHANGES)
def test_it_refuses_a_bad_field_naming_its_place_and_writes_nothing(tmp_path, existing, change, place,
                                                                     problem):
    data = incident()
    change(data)

    message = refusal(write(tmp_path, data))

    assert f"{place}:" in message or f"{place}." in message
    assert problem in message
    assert database_state() == existing


BAD_FILES = [
    pytest.param('{"slug": "x",\n  "title": }', "line 2 column 12", id="invalid-json"),
    pytest.param("", "line 1 column 1", id="empty-file"),
    pytest.param('["api-key-leak-2022"]', "must be a JSON object", id="array-at-top-level"),
    pytest.param('"api-key-leak-2022"', "must be a JSON object", id="string-at-top-level"),
    pytest.param("null", "must be a JSON object", id="null-at-top-level"),
    pytest.param(b'{"slug": "caf\xe9"}', "not UTF-8", id="not-utf-8"),
]


@pytest.mark.parametrize(("content", "problem"), BAD_FILES)
def test_it_refuses_a_file_that_is_not_an_incident_object(tmp_path, existing, content, problem):
    message = refusal(write(tmp_path, content))

    assert problem in message
    assert database_state() == existing


def test_it_names_line_and_column_of_invalid_json(tmp_path):
    text = json.dumps(INCIDENT, indent=2).replace('"tolerance": 0.25,', '"tolerance": 0.25,,')
    lines = text.splitlines()
    line = lines.index('  "tolerance": 0.25,,') + 1

    message = refusal(write(tmp_path, text))

    assert f"line {line} column {len(lines[line - 1])}" in message
    assert "invalid JSON" in message


def test_it_refuses_a_file_that_does_not_exist(tmp_path):
    message = refusal(tmp_path / "missing.json")

    assert "no such file" in message
    assert Incident.objects.count() == 0


def test_it_refuses_a_directory_instead_of_a_file(tmp_path):
    message = refusal(tmp_path)

    assert str(tmp_path) in message
    assert Incident.objects.count() == 0


def test_it_refuses_a_contract_on_a_bitcoin_chain(tmp_path):
    chains = [{"caip2": BITCOIN}]
    assets = [{"chain": BITCOIN, "symbol": "BTC", "decimals": 8, "contract": USDT}]

    message = refusal(write(tmp_path, incident(chains=chains, attacker_addresses=[], safelisted_addresses=[],
                                               assets=assets)))

    assert "assets[0].contract: only EVM chains have token contracts" in message


def test_it_refuses_an_evm_address_on_a_bitcoin_chain(tmp_path):
    chains = [{"caip2": ETHEREUM}, {"caip2": BITCOIN}]
    attackers = [{"chain": BITCOIN, "address": ATTACKER}]

    message = refusal(write(tmp_path, incident(chains=chains, attacker_addresses=attackers)))

    assert "attacker_addresses[0].address:" in message
    assert "not a Bitcoin address" in message


def test_it_puts_the_file_path_in_front_of_the_message(tmp_path):
    path = write(tmp_path, incident(tolerance=11))

    assert refusal(path).startswith(f"{path}: tolerance:")
