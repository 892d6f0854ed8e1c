"""The dashboard's pages, downloads and embeds: small groups never named, caching, framing, preview."""

import json
import re

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.models import Role
from dashboards.charts import CHARTS
from dashboards.models import ReleaseChart
from tests.dashboards.conftest import CANARY_EXCHANGE, add_reports, publish
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def every_output(slug: str) -> list[str]:
    """Every URL that shows an aggregate of the incident: page, charts, their files, embeds, API, feed."""
    urls = [f"/incidents/{slug}/", f"/incidents/{slug}/?min_tier=T1", f"/api/v1/incidents/{slug}/stats/",
            f"/incidents/{slug}/releases/1/", f"/incidents/{slug}/releases.atom",
            f"/incidents/{slug}/releases/"]
    for chart in CHARTS:
        base = f"/incidents/{slug}/charts/{chart}"
        urls += [f"{base}/", f"{base}/embed/", f"{base}.csv", f"{base}.json", f"{base}.svg",
                 f"{base}/?release=1&source=web"]
    return urls


def test_a_four_report_exchange_is_never_named_by_any_aggregate_output(crowd, client):
    publish(crowd.incident)

    for url in every_output("leak"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert CANARY_EXCHANGE not in response.content.decode(), url
    assert "Binance" in client.get("/incidents/leak/charts/by-exchange.csv").content.decode()


def test_the_canary_stays_unnamed_in_the_journalists_preview_too(crowd, client):
    client.force_login(UserFactory(role=Role.JOURNALIST))

    for url in ("/incidents/leak/?preview=1", "/api/v1/incidents/leak/stats/?preview=1",
                "/incidents/leak/charts/by-exchange.csv?preview=1"):
        response = client.get(url)
        assert response.status_code == 200 and CANARY_EXCHANGE not in response.content.decode(), url


def test_the_png_download_is_a_png_of_the_same_chart(crowd, client):
    publish(crowd.incident)

    response = client.get("/incidents/leak/charts/by-exchange.png?release=1")

    assert response["Content-Type"] == "image/png" and response.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert 'filename="leak-by-exchange-release-1.png"' in response["Content-Disposition"]


def test_every_chart_page_has_its_table_downloads_permalink_embed_and_citation(crowd, client):
    release = publish(crowd.incident)

    page = client.get("/incidents/leak/").content.decode()

    for chart in CHARTS:
        for suffix in (".csv?release=1", ".json?release=1", ".svg?release=1", ".png?release=1",
                       "/?release=1", "/embed/?release=1"):
            assert f"/incidents/leak/charts/{chart}{suffix}" in page
    assert page.count("<table") >= len(CHARTS)
    assert f"release 1 of {release.manifest['created_at']}, manifest sha256 {release.manifest_sha256}" in page


def test_the_json_download_carries_the_rows_and_what_to_cite(crowd, client):
    release = publish(crowd.incident)

    data = json.loads(client.get("/incidents/leak/charts/by-exchange.json").content)

    assert (data["release"], data["manifest_sha256"]) == (1, release.manifest_sha256)
    money = ("claimed_loss_usd", "verified_loss_usd")
    expected = [{"exchange": r.get("exchange"), "reports": r["reports"], **{k: r[k] for k in money},
                 "other": bool(r.get("other"))} for r in release.stats["by_exchange"]]
    assert data["rows"] == expected


def test_only_the_embed_page_may_be_framed(crowd, client):
    publish(crowd.incident)

    embed = client.get("/incidents/leak/charts/by-exchange/embed/")
    page = client.get("/incidents/leak/charts/by-exchange/")

    assert "frame-ancestors *" in embed["Content-Security-Policy"] and "X-Frame-Options" not in embed
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"] and page["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in embed["Content-Security-Policy"]


def test_pages_answer_304_to_a_reader_who_has_them_and_a_pinned_release_is_cached_long(crowd, client):
    publish(crowd.incident)
    first = client.get("/incidents/leak/charts/by-exchange.csv?release=1")

    again = client.get("/incidents/leak/charts/by-exchange.csv?release=1", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304 and again["ETag"] == first["ETag"]
    assert "Last-Modified" in first and first["Cache-Control"] == "public, max-age=86400"
    publish(crowd.incident)
    latest = client.get("/incidents/leak/charts/by-exchange.csv")
    assert latest["ETag"] != first["ETag"]


def test_a_journalist_sees_the_embargoed_preview_and_the_public_cannot_ask_for_it(crowd, client):
    publish(crowd.incident)
    add_reports(crowd.incident, "Binance", 5, claimed="777")

    public = client.get("/incidents/leak/?preview=1").content.decode()
    client.force_login(UserFactory(role=Role.JOURNALIST))
    preview = client.get("/incidents/leak/?preview=1")

    assert "Embargoed preview" not in public and "27</dd>" in public
    assert "Embargoed preview." in preview.content.decode() and "32</dd>" in preview.content.decode()
    assert preview["Cache-Control"] == "private, no-store"


def test_a_reporter_gets_no_preview(crowd, client):
    client.force_login(UserFactory(role=Role.REPORTER))

    assert client.get("/api/v1/incidents/leak/stats/?preview=1").status_code == 403


def test_filters_that_match_fewer_than_five_reports_show_nothing(crowd, client):
    publish(crowd.incident)

    page = client.get("/incidents/leak/", {"min_tier": "T4"}).content.decode()

    assert "Fewer than 5 reports match these filters" in page and "<figure" not in page
    assert 'class="totals headline"' not in page  # not even the filtered headline
    assert client.get("/incidents/leak/charts/by-exchange.csv", {"min_tier": "T4"}).status_code == 404


def test_a_release_page_sets_its_totals_beside_the_previous_and_notes_when_superseded(crowd, client):
    publish(crowd.incident)
    add_reports(crowd.incident, "Kraken", 2, claimed="50")
    publish(crowd.incident)

    first = client.get("/incidents/leak/releases/1/").content.decode()
    second = client.get("/incidents/leak/releases/2/").content.decode()

    assert "Superseded: release 2 replaced this one." in first
    assert "Superseded" not in second and "2 reports added" in second
    assert "<td>27</td><td>29</td>" in second.replace("\n", "").replace(" ", "")


def test_the_atom_feed_lists_each_release_newest_first(crowd, client):
    publish(crowd.incident)
    publish(crowd.incident)

    feed = client.get("/incidents/leak/releases.atom")

    assert feed["Content-Type"].startswith("application/atom+xml")
    text = feed.content.decode()
    assert text.index("Release 2") < text.index("Release 1") and "/incidents/leak/releases/2/" in text


def test_the_stats_api_answers_304_with_its_etag(crowd, client):
    publish(crowd.incident)
    first = client.get("/api/v1/incidents/leak/stats/")

    again = client.get("/api/v1/incidents/leak/stats/", HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304 and first["Cache-Control"] == "public, max-age=60"


def test_a_release_draws_its_charts_once_at_publication_in_every_language(crowd, client):
    release = publish(crowd.incident)

    drawn = ReleaseChart.objects.filter(release=release)
    assert drawn.count() == len(CHARTS) * 2 and {c.language for c in drawn} == {"en", "es"}
    stored = drawn.get(chart="by-exchange", language="en")
    ReleaseChart.objects.filter(pk=stored.pk).update(svg=stored.svg.replace("Binance", "Binance, drawn once"))
    served = client.get("/incidents/leak/charts/by-exchange.svg?release=1").content.decode()
    assert "Binance, drawn once" in served
    filtered = client.get("/incidents/leak/charts/by-exchange.svg?release=1&min_tier=T1").content.decode()
    assert "Binance" in filtered and "drawn once" not in filtered  # a filtered view is drawn for its request
    assert not stored.png  # rasterised on first request, then kept
    assert client.get("/incidents/leak/charts/by-exchange.png?release=1").content[:4] == b"\x89PNG"
    assert bytes(ReleaseChart.objects.get(pk=stored.pk).png)[:4] == b"\x89PNG"


def test_a_chart_that_cannot_be_drawn_never_undoes_the_publication(crowd, client, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no rasteriser")

    monkeypatch.setattr("dashboards.services.chart_svg", broken)

    release = publish(crowd.incident)

    assert release.pk and not ReleaseChart.objects.filter(release=release).exists()
    monkeypatch.undo()
    assert client.get("/incidents/leak/charts/by-exchange.png").content[:4] == b"\x89PNG"


def csrf_field(html: str) -> str:
    return re.findall(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)


def test_anonymous_readers_share_one_rendering_but_each_gets_a_working_token_of_their_own(crowd):
    publish(crowd.incident)
    first, second = Client(enforce_csrf_checks=True), Client(enforce_csrf_checks=True)

    one = first.get("/incidents/leak/")
    two = second.get("/incidents/leak/")

    assert "dashboards/dashboard.html" in [t.name for t in one.templates]
    assert "dashboards/dashboard.html" not in [t.name for t in two.templates]  # reused
    assert "27</dd>" in two.content.decode()
    tokens = csrf_field(two.content.decode())
    assert len(tokens) == 2 and len(set(tokens)) == 1 and tokens != csrf_field(one.content.decode())
    switched = second.post("/i18n/setlang/", {"language": "es", "next": "/incidents/leak/",
                                              "csrfmiddlewaretoken": tokens[0]})
    assert switched.status_code == 302


def test_a_signed_in_reader_and_odd_addresses_get_a_page_of_their_own(crowd, client):
    publish(crowd.incident)
    client.get("/incidents/leak/")

    odd = [client.get("/incidents/leak/", {"junk": str(n)}) for n in range(2)]
    client.force_login(UserFactory(role=Role.REPORTER))
    signed_in = client.get("/incidents/leak/")

    for response in (*odd, signed_in):
        assert "dashboards/dashboard.html" in [t.name for t in response.templates]
    assert "Sign out" in signed_in.content.decode()
