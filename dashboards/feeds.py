"""The Atom feed of an incident's releases."""

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from incidents.models import Incident
from registry.models import Release


class ReleaseFeed(Feed):
    """One entry per published release, newest first, linking to the release page."""

    feed_type = Atom1Feed

    def get_object(self, request, slug: str):
        return get_object_or_404(Incident.objects.published(), slug=slug)

    def title(self, incident):
        return _("Releases of the register: %(title)s") % {"title": incident.title}

    def link(self, incident):
        return reverse("dashboards:dashboard", args=[incident.slug])

    def subtitle(self, incident):
        return _("Each release is an immutable, signed version of the verified loss register.")

    def items(self, incident):
        releases = Release.objects.filter(incident=incident).select_related("incident").defer("facts")
        return releases.order_by("-number")[:50]

    def item_title(self, release):
        return _("Release %(n)s") % {"n": release.number}

    def item_description(self, release):
        stats = release.stats or {}
        changes = release.changelog or {}
        return _("%(reports)s reports; verified loss %(verified)s USD of %(claimed)s USD claimed; %(added)s "
                 "added, %(removed)s removed. Manifest sha256 %(sha)s.") % {
            "reports": release.report_count, "verified": stats.get("verified_loss_usd", "?"),
            "claimed": stats.get("claimed_loss_usd", "?"), "added": len(changes.get("added", [])),
            "removed": len(changes.get("removed", [])), "sha": release.manifest_sha256}

    def item_link(self, release):
        return reverse("dashboards:release-detail", args=[release.incident.slug, release.number])

    def item_pubdate(self, release):
        return release.created_at

    def item_updateddate(self, release):
        return release.created_at
