"""The journalist's dashboard in Chromium: desktop and phone, axe's WCAG 2.1 AA rules, no script needed."""

import pytest

from tests.browser.conftest import ARTIFACTS, Shots
from tests.browser.test_accessibility import violations
from tests.dashboards.conftest import CANARY_EXCHANGE, add_reports, publish
from tests.factories import IncidentFactory
from tests.registry.conftest import signing_key  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 412, "height": 915}}


@pytest.fixture
def released(signing_key):  # noqa: F811
    incident = IncidentFactory(slug="leak", title="Trading-bot API key leak")
    for name, count, asset in (("Binance", 9, "ETH"), ("Kraken", 7, "USDT"), ("OKX", 5, "ETH"),
                               (CANARY_EXCHANGE, 4, "ETH")):
        add_reports(incident, name, count, asset=asset, tier="T3" if name == "Kraken" else "T2")
    add_reports(incident, "Binance", 6, source="import", status="verified")
    return publish(incident)


def context_page(browser, live_server, request, viewport, *, javascript: bool = True):
    context = browser.new_context(viewport=viewport, base_url=live_server.url, java_script_enabled=javascript)
    page = context.new_page()
    page.shot = Shots(page, ARTIFACTS / f"{request.node.name.replace('[', '-').rstrip(']')}")
    return context, page


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_the_dashboard_passes_axe_at_desktop_and_phone_widths(browser, live_server, request, released, width):
    context, page = context_page(browser, live_server, request, WIDTHS[width])
    try:
        for path in ("/incidents/leak/", "/incidents/leak/charts/by-exchange/?release=1",
                     "/incidents/leak/charts/losses-over-time/embed/", "/incidents/leak/releases/1/",
                     "/methodology/", "/incidents/leak/?min_tier=T4"):
            page.goto(path)
            page.shot(path)
            assert violations(page) == [], path
            assert CANARY_EXCHANGE not in page.content()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        context.close()


def test_every_chart_is_readable_without_javascript(browser, live_server, request, released):
    context, page = context_page(browser, live_server, request, WIDTHS["desktop"], javascript=False)
    try:
        page.goto("/incidents/leak/")
        page.shot("without javascript")
        images = page.locator("figure.chart img")
        assert images.count() == 9
        for index in range(images.count()):
            image = images.nth(index)
            image.scroll_into_view_if_needed()
            page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())
        assert page.locator("figure.chart table").count() == 9
        assert "Binance" in page.locator("#chart-by-exchange table").inner_text()
    finally:
        context.close()


def test_the_filters_work_from_the_url_and_the_form(browser, live_server, request, released):
    context, page = context_page(browser, live_server, request, WIDTHS["phone"])
    try:
        page.goto("/incidents/leak/")
        page.locator("details.filters summary").click()  # folded away until opened, without script
        page.get_by_label("Minimum tier").select_option("T3")
        page.get_by_role("button", name="Apply filters").click()
        page.wait_for_url("**min_tier=T3**")
        page.shot("filtered to T3")
        assert "release=1" in page.url
        assert page.locator("dl.headline dd").first.inner_text() == "7"
    finally:
        context.close()
