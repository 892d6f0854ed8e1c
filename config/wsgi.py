"""WSGI entry point for gunicorn: `gunicorn config.wsgi` (docker/start-web.sh adds config/gunicorn.conf.py).

The URL configuration is imported here, at the worker's start, not on its first request: Django
imports it lazily, and with it every view module and the libraries they use (about 1.5 s here), so
each fresh worker's first visitor would wait that long, and every request queued behind it too.
"""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()
get_resolver().url_patterns  # noqa: B018 - the import is the point
