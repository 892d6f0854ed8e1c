"""Behaviour of `manage.py import_prices PATH.csv` (README.md, "Price file")."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from verification.models import Price

pytestmark = pytest.mark.django_db

HEADER = "date,symbol,usd\n"


def write(tmp_path, content, name="prices.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8", newline="")
    return path


def import_prices(path) -> str:
    out = StringIO()
    call_command("import_prices", str(path), stdout=out)
    return out.getvalue()


def import_text(tmp_path, content, name="prices.csv") -> str:
    return import_prices(write(tmp_path, content, name))


def refusal(path) -> str:
    """Run the command on a bad file; check it exits with 2 and return its message."""
    with pytest.raises(CommandError) as excinfo:
        import_prices(path)
    assert excinfo.value.returncode == 2
    return str(excinfo.value)


def prices() -> list[tuple]:
    return [(symbol, day, usd.normalize()) for symbol, day, usd
            in Price.objects.order_by("symbol", "date").values_list("symbol", "date", "usd")]


# --- the happy path ------------------------------------------------------------------------------


def test_it_imports_daily_prices_from_a_file_with_a_bom_crlf_and_blank_lines(tmp_path):
    content = "\ufeffdate,symbol,usd\r\n2022-11-01,ETH,1572.12\r\n\r\n2022-11-01,BTC,20482.5\r\n\r\n"

    output = import_text(tmp_path, content)

    assert "Imported 2 daily prices" in output
    assert prices() == [
        ("BTC", date(2022, 11, 1), Decimal("20482.5")),
        ("ETH", date(2022, 11, 1), Decimal("1572.12")),
    ]


def test_it_stores_symbols_in_uppercase(tmp_path):
    import_text(tmp_path, HEADER + "2022-11-01,eth,1572.12\n2022-11-01,Usdt,1\n")

    assert sorted(Price.objects.values_list("symbol", flat=True)) == ["ETH", "USDT"]


def test_it_accepts_a_header_in_any_case_with_spaces_around_the_names(tmp_path):
    import_text(tmp_path, "Date, Symbol ,USD\n2022-11-01,ETH,1572.12\n")

    assert prices() == [("ETH", date(2022, 11, 1), Decimal("1572.12"))]


def test_it_ignores_spaces_around_the_values(tmp_path):
    import_text(tmp_path, HEADER + " 2022-11-01 , eth , 1572.12 \n")

    assert prices() == [("ETH", date(2022, 11, 1), Decimal("1572.12"))]


def test_it_keeps_twelve_decimal_places_of_a_small_price(tmp_path):
    import_text(tmp_path, HEADER + "2022-11-01,SHIB,0.000009123456\n")

    assert Price.objects.get().usd == Decimal("0.000009123456")


def test_it_imports_a_file_with_only_the_header(tmp_path):
    output = import_text(tmp_path, HEADER)

    assert "Imported 0 daily prices" in output
    assert Price.objects.count() == 0


def test_it_updates_an_existing_price_instead_of_adding_a_second(tmp_path):
    import_text(tmp_path, HEADER + "2022-11-01,ETH,1500\n2022-11-02,ETH,1520\n")

    import_text(tmp_path, HEADER + "2022-11-01,eth,1572.12\n2022-11-03,ETH,1530\n", "corrected.csv")

    assert prices() == [
        ("ETH", date(2022, 11, 1), Decimal("1572.12")),
        ("ETH", date(2022, 11, 2), Decimal("1520")),
        ("ETH", date(2022, 11, 3), Decimal("1530")),
    ]


def test_it_changes_nothing_when_the_same_file_is_imported_twice(tmp_path):
    path = write(tmp_path, HEADER + "2022-11-01,ETH,1572.12\n2022-11-01,BTC,20482.5\n")
    import_prices(path)
    before = prices()

    import_prices(path)

    assert prices() == before


def test_it_accepts_the_same_price_twice_in_one_file(tmp_path):
    output = import_text(tmp_path, HEADER + "2022-11-01,ETH,1572.12\n2022-11-01,eth,1572.120\n")

    assert "Imported 1 daily prices" in output
    assert prices() == [("ETH", date(2022, 11, 1), Decimal("1572.12"))]


# --- bad input: exit code 2, a message naming the line, nothing written -----------------------------

BAD_FILES = [
    pytest.param("day,symbol,usd\n2022-11-01,ETH,1\n", "line 1", "header", id="wrong-header"),
    pytest.param("symbol,date,usd\n", "line 1", "header", id="header-in-another-order"),
    pytest.param("date,symbol,usd,source\n", "line 1", "header", id="header-with-an-extra-column"),
    pytest.param("2022-11-01,ETH,1\n", "line 1", "header", id="no-header"),
    pytest.param("", "line 1", "header", id="empty-file"),
    pytest.param(HEADER + "2022-11-01,ETH\n", "line 2", "expected 3 fields", id="two-fields"),
    pytest.param(HEADER + "2022-11-01,ETH,1\n2022-11-02,ETH,1,2\n", "line 3", "expected 3 fields",
                 id="four-fields"),
    pytest.param(HEADER + '2022-11-01,ETH,"1,572.12"\n', "line 2", "not a number", id="thousands-separator"),
    pytest.param(HEADER + "2022-11-01,ETH,1\n\n2022-13-01,ETH,1\n", "line 4", "not YYYY-MM-DD",
                 id="impossible-month"),
    pytest.param(HEADER + "01/11/2022,ETH,1\n", "line 2", "not YYYY-MM-DD", id="slashed-date"),
    pytest.param(HEADER + ",ETH,1\n", "line 2", "not YYYY-MM-DD", id="empty-date"),
    pytest.param(HEADER + "2022-11-01,,1\n", "line 2", "not a ticker symbol", id="empty-symbol"),
    pytest.param(HEADER + "2022-11-01,E TH,1\n", "line 2", "not a ticker symbol", id="symbol-with-space"),
    pytest.param(HEADER + "2022-11-01,ABCDEFGHIJKLMNOPQRSTU,1\n", "line 2", "not a ticker symbol",
                 id="symbol-too-long"),
    pytest.param(HEADER + "2022-11-01,ETH,abc\n", "line 2", "not a number", id="usd-not-a-number"),
    pytest.param(HEADER + "2022-11-01,ETH,$1572\n", "line 2", "not a number", id="usd-with-dollar-sign"),
    pytest.param(HEADER + "2022-11-01,ETH,\n", "line 2", "not a number", id="usd-empty"),
    pytest.param(HEADER + "2022-11-01,ETH,0\n", "line 2", "positive", id="usd-zero"),
    pytest.param(HEADER + "2022-11-01,ETH,-0\n", "line 2", "positive", id="usd-minus-zero"),
    pytest.param(HEADER + "2022-11-01,ETH,-1572.12\n", "line 2", "positive", id="usd-negative"),
    pytest.param(HEADER + "2022-11-01,ETH,NaN\n", "line 2", "positive", id="usd-nan"),
    pytest.param(HEADER + "2022-11-01,ETH,sNaN\n", "line 2", "positive", id="usd-signalling-nan"),
    pytest.param(HEADER + "2022-11-01,ETH,Infinity\n", "line 2", "positive", id="usd-infinity"),
    pytest.param(HEADER + "2022-11-01,ETH,-inf\n", "line 2", "positive", id="usd-minus-infinity"),
    pytest.param(HEADER + "2022-11-01,ETH,0.0000000000001\n", "line 2", "usd",
                 id="usd-below-the-stored-precision"),
    pytest.param(HEADER + "2022-11-01,ETH,1e30\n", "line 2", "usd", id="usd-too-large-to-store"),
    pytest.param(HEADER + "2022-11-01,ETH,1" + "0" * 70 + "\n", "line 2", "longer than", id="field-too-long"),
    pytest.param(HEADER + "2022-11-01,ETH,1572.12\n2022-11-02,ETH,1520\n2022-11-01,eth,1600\n", "line 4",
                 "different price", id="conflicting-duplicate"),
    pytest.param(HEADER + '2022-11-01,ETH,"1572.12\n', "line 2", "", id="unterminated-quote"),
    pytest.param(b"date,symbol,usd\n2022-11-01,ETH,1\n2022-11-02,\xff\xfeETH,1\n", "line 3", "UTF-8",
                 id="not-utf-8"),
    pytest.param("date,symbol,usd\n2022-11-01,ETH,1\n".encode("utf-16"), "line 1", "UTF-8", id="utf-16"),
]


@pytest.fixture(params=["empty table", "existing prices"])
def existing(request, tmp_path):
    """Start from no prices, or from prices that a bad file would overwrite if it wrote anything."""
    if request.param == "existing prices":
        import_text(tmp_path, HEADER + "2022-11-01,ETH,1500\n2022-11-02,ETH,1510\n", "earlier.csv")
    return prices()


@pytest.mark.parametrize(("content", "line", "problem"), BAD_FILES)
def test_it_refuses_a_malformed_file_naming_the_line_and_writes_nothing(tmp_path, existing, content, line,
                                                                        problem):
    message = refusal(write(tmp_path, content))

    assert f"{line}:" in message
    assert problem in message
    assert prices() == existing


def test_it_writes_none_of_the_good_rows_before_a_bad_one(tmp_path):
    content = HEADER + "2022-11-01,ETH,1572.12\n2022-11-02,ETH,1520\n2022-11-03,ETH,oops\n"

    message = refusal(write(tmp_path, content))

    assert "line 4:" in message
    assert Price.objects.count() == 0


def test_it_refuses_a_file_that_does_not_exist(tmp_path):
    path = tmp_path / "missing.csv"

    message = refusal(path)

    assert message.startswith(f"{path}: no such file")
    assert Price.objects.count() == 0


def test_it_refuses_a_directory_instead_of_a_file(tmp_path):
    message = refusal(tmp_path)

    assert str(tmp_path) in message
    assert Price.objects.count() == 0


def test_it_puts_the_file_path_in_front_of_the_message(tmp_path):
    path = write(tmp_path, HEADER + "2022-11-01,ETH,0\n")

    assert refusal(path).startswith(f"{path}: line 2:")
