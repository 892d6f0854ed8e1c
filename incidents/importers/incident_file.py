"""Read and validate the incident JSON (README.md, "Incident file") into plain, checked values.

Nothing here touches the database: the whole file is validated first, so that a bad file
writes nothing. Every error names the place in the file (``assets[1].decimals``).
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils.dateparse import parse_date, parse_datetime

from incidents.chains import ChainValueError, namespace, normalise_address, normalise_caip2
from incidents.ticket_patterns import ticket_pattern_problem

SLUG_RE = re.compile(r"^[-a-z0-9_]{1,80}$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
SELECTOR_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_CONFIRMATIONS = 2**31 - 1  # the largest value IncidentChain.confirmations holds on every database

TOP_KEYS = {"slug", "title", "description", "window", "tolerance", "chains", "attacker_addresses",
            "safelisted_addresses", "assets", "exchanges", "dkim_keys"}


class IncidentFileError(ValueError):
    """The incident file is unusable; ``place`` says where, the message says why."""

    def __init__(self, place: str, problem: str):
        self.place, self.problem = place, problem
        super().__init__(f"{place}: {problem}" if place else problem)


@dataclass
class IncidentSpec:
    """A validated incident file, ready to be written."""

    slug: str
    title: str
    description: str
    window_start: datetime
    window_end: datetime
    tolerance: Decimal
    chains: list[dict] = field(default_factory=list)
    attacker_addresses: list[dict] = field(default_factory=list)
    safelisted_addresses: list[dict] = field(default_factory=list)
    assets: list[dict] = field(default_factory=list)
    exchanges: list[dict] = field(default_factory=list)
    dkim_keys: list[dict] = field(default_factory=list)


def read_incident_file(path: Path) -> IncidentSpec:
    """Load and validate an incident JSON file."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise IncidentFileError("", f"file is larger than {MAX_FILE_BYTES // 1024 // 1024} MB")
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise IncidentFileError("", f"no such file: {path}") from None
    except UnicodeDecodeError as exc:
        raise IncidentFileError("", f"not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise IncidentFileError("", f"cannot read {path}: {exc.strerror}") from None
    try:
        data = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise IncidentFileError(f"line {exc.lineno} column {exc.colno}", f"invalid JSON: {exc.msg}") from None
    return parse_incident(data)


def parse_incident(data: Any) -> IncidentSpec:
    """Validate already-decoded incident data."""
    _object(data, "", TOP_KEYS, required={"slug", "title", "window"})
    chains = _chains(data.get("chains", []))
    known = {c["caip2"] for c in chains}
    start, end = _window(data["window"])
    attackers = _addresses(data.get("attacker_addresses", []), "attacker_addresses", known)
    safelisted = _addresses(data.get("safelisted_addresses", []), "safelisted_addresses", known)
    _no_overlap(attackers, safelisted)
    return IncidentSpec(
        slug=_slug(data["slug"]), title=_text(data["title"], "title", 200, required=True),
        description=_text(data.get("description", ""), "description", 20_000),
        window_start=start, window_end=end, tolerance=_tolerance(data.get("tolerance", Decimal("0.25"))),
        chains=chains, attacker_addresses=attackers, safelisted_addresses=safelisted,
        assets=_assets(data.get("assets", []), known), exchanges=_exchanges(data.get("exchanges", [])),
        dkim_keys=_dkim_keys(data.get("dkim_keys", [])),
    )


def _object(value: Any, place: str, allowed: set[str], *, required: set[str]) -> None:
    if not isinstance(value, dict):
        raise IncidentFileError(place, "must be a JSON object")
    for key in value:
        if key not in allowed:
            where = f"{place}.{key}" if place else key
            raise IncidentFileError(where, f"unknown field (allowed: {', '.join(sorted(allowed))})")
    for key in sorted(required - value.keys()):
        raise IncidentFileError(f"{place}.{key}" if place else key, "is required")


def _list(value: Any, place: str) -> list:
    if not isinstance(value, list):
        raise IncidentFileError(place, "must be a JSON array")
    return value


def _text(value: Any, place: str, max_length: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise IncidentFileError(place, "must be a string")
    value = value.strip()
    if required and not value:
        raise IncidentFileError(place, "must not be empty")
    if len(value) > max_length:
        raise IncidentFileError(place, f"is longer than {max_length} characters")
    return value


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise IncidentFileError("slug", "must be 1-80 lowercase letters, digits, '-' or '_'")
    return value


def _instant(value: Any, place: str, *, end_of_day: bool = False) -> datetime:
    """Parse an ISO date-time with a zone, or a date (read as UTC; end of day if asked)."""
    if not isinstance(value, str):
        raise IncidentFileError(place, "must be an ISO 8601 date or date-time string")
    # Dates first: parse_datetime reads "2022-01-01" as a naive midnight, not as a date.
    day = _iso_date(value)
    if day is not None:
        return datetime.combine(day, time.max if end_of_day else time.min, tzinfo=UTC)
    try:
        moment = parse_datetime(value)
    except ValueError:  # well-formed but impossible, such as month 13
        moment = None
    if moment is None:
        raise IncidentFileError(place, f"{value!r} is not an ISO 8601 date or date-time")
    if moment.tzinfo is None:
        raise IncidentFileError(place, f"{value!r} has no time zone; add Z for UTC")
    return moment.astimezone(UTC)


def _iso_date(value: str) -> date | None:
    try:
        return parse_date(value)
    except ValueError:
        return None


def _window(value: Any) -> tuple[datetime, datetime]:
    _object(value, "window", {"start", "end"}, required={"start", "end"})
    start = _instant(value["start"], "window.start")
    end = _instant(value["end"], "window.end", end_of_day=True)
    if end <= start:
        raise IncidentFileError("window.end", "is before (or equal to) window.start")
    return start, end


def _tolerance(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise IncidentFileError("tolerance", "must be a number such as 0.25")
    if not 0 <= value <= 10:
        raise IncidentFileError("tolerance", "must be between 0 and 10 (0.25 means 25%)")
    return Decimal(value).quantize(Decimal("0.0001"))


def _caip2(value: Any, place: str) -> str:
    if not isinstance(value, str):
        raise IncidentFileError(place, "must be a CAIP-2 chain id string such as eip155:1")
    try:
        return normalise_caip2(value)
    except ChainValueError as exc:
        raise IncidentFileError(place, str(exc)) from None


def _chains(value: Any) -> list[dict]:
    chains, seen = [], set()
    for i, item in enumerate(_list(value, "chains")):
        place = f"chains[{i}]"
        _object(item, place, {"caip2", "confirmations"}, required={"caip2"})
        caip2 = _caip2(item["caip2"], f"{place}.caip2")
        if caip2 in seen:
            raise IncidentFileError(f"{place}.caip2", f"{caip2} is listed twice")
        seen.add(caip2)
        confirmations = item.get("confirmations")
        if confirmations is not None and (
            isinstance(confirmations, bool) or not isinstance(confirmations, int)
            or not 0 <= confirmations <= MAX_CONFIRMATIONS
        ):
            raise IncidentFileError(
                f"{place}.confirmations", f"must be a whole number from 0 to {MAX_CONFIRMATIONS}, or null"
            )
        chains.append({"caip2": caip2, "confirmations": confirmations})
    return chains


def _known_chain(value: Any, place: str, known: set[str]) -> str:
    caip2 = _caip2(value, place)
    if caip2 not in known:
        raise IncidentFileError(place, f"{caip2} is not one of the incident's chains")
    return caip2


def _address(chain: str, value: Any, place: str) -> str:
    if not isinstance(value, str):
        raise IncidentFileError(place, "must be an address string")
    try:
        return normalise_address(chain, value)
    except ChainValueError as exc:
        raise IncidentFileError(place, str(exc)) from None


def _addresses(value: Any, name: str, known: set[str]) -> list[dict]:
    rows, seen = [], set()
    for i, item in enumerate(_list(value, name)):
        place = f"{name}[{i}]"
        _object(item, place, {"chain", "address", "label"}, required={"chain", "address"})
        chain = _known_chain(item["chain"], f"{place}.chain", known)
        address = _address(chain, item["address"], f"{place}.address")
        if (chain, address) in seen:
            raise IncidentFileError(f"{place}.address", f"{address} is listed twice")
        seen.add((chain, address))
        label = _text(item.get("label", ""), f"{place}.label", 200)
        rows.append({"chain": chain, "address": address, "label": label})
    return rows


def _no_overlap(attackers: list[dict], safelisted: list[dict]) -> None:
    safe = {(row["chain"], row["address"]) for row in safelisted}
    for i, row in enumerate(attackers):
        if (row["chain"], row["address"]) in safe:
            raise IncidentFileError(
                f"attacker_addresses[{i}].address",
                f"{row['address']} is also safelisted; a safelisted address is never an attacker",
            )


def _assets(value: Any, known: set[str]) -> list[dict]:
    rows, symbols, contracts, natives = [], set(), set(), set()
    for i, item in enumerate(_list(value, "assets")):
        place = f"assets[{i}]"
        _object(item, place, {"chain", "symbol", "decimals", "contract"},
                required={"chain", "symbol", "decimals"})
        chain = _known_chain(item["chain"], f"{place}.chain", known)
        symbol = _text(item["symbol"], f"{place}.symbol", 20, required=True)
        decimals = item["decimals"]
        if isinstance(decimals, bool) or not isinstance(decimals, int) or not 0 <= decimals <= 36:
            raise IncidentFileError(f"{place}.decimals", "must be a whole number from 0 to 36")
        contract = item.get("contract")
        if contract is not None:
            if namespace(chain) != "eip155":
                raise IncidentFileError(f"{place}.contract", "only EVM chains have token contracts")
            contract = _address(chain, contract, f"{place}.contract")
        _unique(symbols, (chain, symbol), f"{place}.symbol", f"{symbol} is listed twice on {chain}")
        if contract is None:
            _unique(natives, chain, f"{place}.contract", f"{chain} already has a native asset")
        else:
            _unique(contracts, (chain, contract), f"{place}.contract", f"{contract} is listed twice")
        rows.append({"chain": chain, "symbol": symbol, "decimals": decimals, "contract": contract})
    return rows


def _unique(seen: set, key: Any, place: str, problem: str) -> None:
    if key in seen:
        raise IncidentFileError(place, problem)
    seen.add(key)


def _exchanges(value: Any) -> list[dict]:
    rows, names = [], set()
    for i, item in enumerate(_list(value, "exchanges")):
        place = f"exchanges[{i}]"
        _object(item, place, {"name", "support_domains", "ticket_id_regex"},
                required={"name", "support_domains"})
        name = _text(item["name"], f"{place}.name", 100, required=True)
        _unique(names, name.casefold(), f"{place}.name", f"{name} is listed twice")
        domains = [_domain(d, f"{place}.support_domains[{j}]")
                   for j, d in enumerate(_list(item["support_domains"], f"{place}.support_domains"))]
        pattern = _ticket_pattern(item.get("ticket_id_regex", ""), f"{place}.ticket_id_regex")
        rows.append({"name": name, "support_domains": domains, "ticket_id_regex": pattern})
    return rows


def _domain(value: Any, place: str) -> str:
    if not isinstance(value, str) or not DOMAIN_RE.match(value.strip().lower().rstrip(".")):
        raise IncidentFileError(place, f"{value!r} is not a domain name such as binance.com")
    return value.strip().lower().rstrip(".")


def _ticket_pattern(value: Any, place: str) -> str:
    pattern = _text(value if value is not None else "", place, 300)
    if not pattern:
        return ""
    problem = ticket_pattern_problem(pattern)
    if problem:
        raise IncidentFileError(place, problem)
    return pattern


def _dkim_keys(value: Any) -> list[dict]:
    rows, seen = [], set()
    for i, item in enumerate(_list(value, "dkim_keys")):
        place = f"dkim_keys[{i}]"
        _object(item, place, {"domain", "selector", "public_key", "valid_from", "valid_to"},
                required={"domain", "selector", "public_key"})
        selector = item["selector"]
        if not isinstance(selector, str) or not SELECTOR_RE.fullmatch(selector):
            raise IncidentFileError(f"{place}.selector", "must be a DKIM selector such as s2022")
        valid_from = _optional_instant(item.get("valid_from"), f"{place}.valid_from")
        valid_to = _optional_instant(item.get("valid_to"), f"{place}.valid_to", end_of_day=True)
        if valid_from and valid_to and valid_to < valid_from:
            raise IncidentFileError(f"{place}.valid_to", "is before valid_from")
        domain = _domain(item["domain"], f"{place}.domain")
        public_key = _public_key(item["public_key"], f"{place}.public_key")
        _unique(seen, (domain, selector, public_key), place,
                f"this key for {selector}._domainkey.{domain} is listed twice")
        rows.append({"domain": domain, "selector": selector, "public_key": public_key,
                     "valid_from": valid_from, "valid_to": valid_to})
    return rows


def _optional_instant(value: Any, place: str, *, end_of_day: bool = False) -> datetime | None:
    return None if value is None else _instant(value, place, end_of_day=end_of_day)


def _public_key(value: Any, place: str) -> str:
    if not isinstance(value, str):
        raise IncidentFileError(place, "must be the base64 text of the DNS record's p= value")
    compact = "".join(value.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise IncidentFileError(place, "is not valid base64") from None
    if len(raw) < 32:
        raise IncidentFileError(place, "is too short to be a DKIM public key")
    return compact
