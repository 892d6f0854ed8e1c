"""Public pages of published releases and downloads of their files."""

import hashlib
import mimetypes

from django.http import FileResponse, Http404, HttpResponseNotModified
from django.shortcuts import get_object_or_404, render

from incidents.models import Incident
from registry.models import Release, release_storage

SIGNATURE_FILES = ("manifest.json", "manifest.sig")


def release_list(request, slug: str):
    incident = get_object_or_404(Incident.objects.published(), slug=slug)
    releases = Release.objects.filter(incident=incident).defer("facts").order_by("-number")
    return render(request, "registry/release_list.html", {"incident": incident, "releases": releases})


def release_file(request, slug: str, number: int, name: str):
    """Serve one file of a release as an attachment, with its sha256 as the ETag."""
    release = get_object_or_404(Release, incident__slug=slug, incident__published=True, number=number)
    if name not in release.manifest.get("files", {}) and name not in SIGNATURE_FILES:
        raise Http404  # only files the release lists: no path ever comes from the URL
    etag = f'"{_sha256(release, name)}"'
    if request.headers.get("If-None-Match") == etag:
        return HttpResponseNotModified()
    try:
        handle = release_storage().open(f"{release.folder}/{name}", "rb")
    except FileNotFoundError:
        raise Http404 from None
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = FileResponse(handle, as_attachment=True, content_type=content_type,
                            filename=f"{slug}-release-{number}-{name}")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


def _sha256(release: Release, name: str) -> str:
    listed = release.manifest.get("files", {}).get(name, {})
    if isinstance(listed, dict) and listed.get("sha256"):
        return listed["sha256"]
    if name == "manifest.json":
        return release.manifest_sha256
    # manifest.sig is the signature and a newline (registry.services.manifest_write): no read needed.
    return hashlib.sha256(f"{release.signature_b64}\n".encode()).hexdigest()
