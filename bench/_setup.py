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
    """Run ``run(args)``, then close Django's connections and remove the temporary VAR_DIR, if any."""
    from django.db import connections

    try:
        run(args)
    finally:
        connections.close_all()
        if var_dir is not None:
            shutil.rmtree(var_dir, ignore_errors=True)
