import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_home(page):
    page.goto("/")
    page.shot("home")
    assert "Lossproof" in page.title()
