"""Every visible string of the dashboard's pages is marked for translation (see tests/test_i18n.py)."""

import pytest

from tests.dashboards.conftest import publish
from tests.test_i18n import pseudo_translation, unmarked  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/incidents/leak/", "/incidents/leak/charts/by-exchange/",
                                  "/incidents/leak/charts/funnel/embed/", "/incidents/leak/releases/2/",
                                  "/incidents/leak/releases/1/", "/methodology/",
                                  "/incidents/leak/?min_tier=T4"])
def test_every_visible_string_of_the_dashboard_is_marked(client, crowd, pseudo_translation, path):  # noqa: F811
    releases = [publish(crowd.incident), publish(crowd.incident)]

    response = client.get(path)

    assert response.status_code == 200
    data = ("API key leak", "Binance", "Kraken", "leak", "eip155:31337", "OKX",
            *(release.manifest_sha256 for release in releases))
    assert unmarked(response.content.decode(), data) == []
