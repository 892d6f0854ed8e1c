"""gunicorn's workers start warm: loading the WSGI application loads every view as well."""

import subprocess
import sys

from django.conf import settings

# What a fresh process holds once gunicorn has loaded config.wsgi (and nothing has been served).
PROBE = ("import sys, config.wsgi; "
         "print(' '.join(name for name in ('dashboards.views', 'moderation.views', 'verification.api') "
         "if name in sys.modules))")


def test_loading_the_wsgi_application_imports_the_views_before_any_request():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=settings.BASE_DIR, capture_output=True, text=True,
                         check=True, timeout=120).stdout.split()

    assert out == ["dashboards.views", "moderation.views", "verification.api"]


def test_the_web_process_runs_gunicorn_with_the_projects_settings_file():
    start = (settings.BASE_DIR / "docker" / "start-web.sh").read_text()
    conf = (settings.BASE_DIR / "config" / "gunicorn.conf.py").read_text()

    assert "--config config/gunicorn.conf.py" in start
    assert "preload_app = True" in conf
