"""The benchmarks' shared start: this project's settings and, without DATABASE_URL, a throw-away state."""

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bench_django(**env: str) -> Path | None:
    """Configure and set up Django for a benchmark; return the temporary VAR_DIR it made, if any."""
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.update(env)
    var_dir = None
    if not os.environ.get("DATABASE_URL"):
        var_dir = Path(tempfile.mkdtemp(prefix="lossproof-bench-"))
        os.environ["LOSSPROOF_VAR_DIR"] = str(var_dir)
    import django

    django.setup()
    return var_dir


def bench_run(run, args, var_dir: Path | None) -> None:
    """Migrate the database, refuse it if it holds reports, run ``run(args)``; then close Django's
    connections and remove the temporary VAR_DIR, if any.

    A benchmark counts what it stored: an earlier run's reports would be counted too (and anvil makes
    the same transaction hashes every run, so old claims would turn new ones into duplicates).
    """
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    from incidents.models import Report

    try:
        settings.DEBUG = False  # as in production: Django does not keep a log of every query
        call_command("migrate", verbosity=0, interactive=False)
        if Report.objects.exists():
            sys.exit("The database already holds reports; point DATABASE_URL at an empty scratch database.")
        run(args)
    finally:
        connections.close_all()
        if var_dir is not None:
            shutil.rmtree(var_dir, ignore_errors=True)
