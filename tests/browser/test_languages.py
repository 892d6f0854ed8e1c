"""A victim whose browser asks for Spanish reads the site in Spanish and can switch back."""

import re

import pytest

from tests.browser.conftest import ARTIFACTS, Shots

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_spanish_browser_gets_spanish_pages_and_the_footer_switches_to_english(browser, live_server):
    context = browser.new_context(locale="es-ES", viewport={"width": 412, "height": 915},
                                  base_url=live_server.url)
    page = context.new_page()
    shot = Shots(page, ARTIFACTS / "spanish-browser")

    page.goto("/accounts/signup/")
    shot("sign up in spanish")
    assert page.locator("html").get_attribute("lang") == "es"
    assert "Lossproof nunca" in page.locator("footer").inner_text()

    page.get_by_label("Idioma").select_option("en")
    page.get_by_role("button", name="Cambiar idioma").click()
    shot("switched to english")
    assert page.locator("html").get_attribute("lang") == "en"
    assert re.search("Lossproof never asks", page.locator("footer").inner_text())
    context.close()
