"""Production start-up refuses what would leak or weaken it; compose passes what production needs."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.conf import settings

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": "x" * 64, "ALLOWED_HOSTS": "lossproof.example",
              "REPORT_REF_KEY": "r" * 40, "AUDIT_KEY": "a" * 40}


def _check(**env) -> subprocess.CompletedProcess:
    clean = {name: value for name, value in os.environ.items() if not name.startswith("EMAIL_")}
    return subprocess.run([sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, capture_output=True,
                          text=True, env={**clean, **env}, timeout=120)


def test_production_refuses_to_print_account_mails_to_the_log():
    result = _check(**PRODUCTION)

    assert result.returncode != 0
    assert "EMAIL_HOST must name an SMTP server when DEBUG is off" in result.stderr


def test_production_starts_with_an_smtp_server():
    result = _check(**PRODUCTION, EMAIL_HOST="smtp.lossproof.example")

    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def app_environment() -> dict:
    compose = yaml.safe_load((Path(settings.BASE_DIR) / "docker" / "compose.yml").read_text())
    return compose["services"]["web"]["environment"]


@pytest.mark.parametrize("name", ["CACHE_URL", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER",
                                  "EMAIL_HOST_PASSWORD",
                                  "EMAIL_USE_TLS", "DEFAULT_FROM_EMAIL"])
def test_compose_passes_the_shared_cache_and_mail_settings(app_environment, name):
    assert name in app_environment


def test_compose_points_the_cache_at_its_redis(app_environment):
    assert app_environment["CACHE_URL"].startswith("redis://redis:6379/")
    assert app_environment["CACHE_URL"] != app_environment["CELERY_BROKER_URL"]


def test_the_deploy_check_warns_when_throttles_would_count_per_process():
    env = {**PRODUCTION, "EMAIL_HOST": "smtp.lossproof.example", "CACHE_URL": ""}
    clean = {name: value for name, value in os.environ.items() if name != "CACHE_URL"}
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=settings.BASE_DIR, capture_output=True, text=True, env={**clean, **env},
                            timeout=120)

    assert result.returncode != 0
    assert "accounts.W001" in result.stderr + result.stdout
