"""Notices that lower layers send about reports, for the apps above them to act on."""

from django.dispatch import Signal

# Sent (with report_ids=[...]) after a report's verdict or decision changed: tier, flags, verified
# loss, status. The dashboards app listens to rebuild its live summary; the sender needs no import
# of any app above it.
reports_changed = Signal()
