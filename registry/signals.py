"""Notices the registry sends for the apps above it."""

from django.dispatch import Signal

# Sent (with release=...) once a release is recorded and its files are in place. The dashboards
# app draws the release's charts then, once, instead of on each request.
release_published = Signal()
