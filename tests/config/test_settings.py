"""Settings come from the environment; a bad value stops start-up and names the variable."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_endpoints, env_int


def _check(**env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=settings.BASE_DIR, capture_output=True,
        text=True, env={**os.environ, **env}, timeout=120,
    )


@pytest.mark.parametrize(("name", "value"), [
    ("DEBUG", "maybe"),
    ("DATABASE_URL", "mysql://root@localhost/lossproof"),
    ("CELERY_BROKER_URL", "sqs://queue"),
    ("CHAIN_RPC_URLS", "ethereum=http://127.0.0.1:8545"),
    ("ESPLORA_URLS", "eip155:1=http://127.0.0.1:3000"),
    ("CELERY_TASK_TIME_LIMIT", "ten"),
    ("FILE_STORAGE", "nfs"),
    ("S3_TIMEOUT", "soon"),
    ("WORKER_NICE", "20"),
])
def test_a_bad_value_fails_start_up_naming_the_variable(name, value):
    result = _check(**{name: value})

    assert result.returncode != 0
    assert name in result.stderr


def test_production_mode_requires_a_real_secret_key_and_hosts():
    result = _check(DEBUG="0", SECRET_KEY="", ALLOWED_HOSTS="lossproof.example")

    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_env_bool_refuses_words_that_are_not_booleans(monkeypatch):
    monkeypatch.setenv("FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="FLAG"):
        env_bool("FLAG", False)


def test_env_int_enforces_the_minimum(monkeypatch):
    monkeypatch.setenv("COUNT", "-1")
    with pytest.raises(ImproperlyConfigured, match="COUNT=-1 is below"):
        env_int("COUNT", 3, minimum=0)


def test_env_int_enforces_the_maximum(monkeypatch):
    monkeypatch.setenv("NICE", "20")
    with pytest.raises(ImproperlyConfigured, match="NICE=20 is above the maximum of 19"):
        env_int("NICE", 10, minimum=0, maximum=19)
    monkeypatch.setenv("NICE", "19")
    assert env_int("NICE", 10, minimum=0, maximum=19) == 19


def test_env_endpoints_keeps_several_urls_per_chain_in_order(monkeypatch):
    monkeypatch.setenv("RPC", "eip155:1=https://a.example, eip155:1=https://b.example,eip155:10=http://c")

    endpoints = env_endpoints("RPC", "", namespaces=("eip155",))

    assert endpoints == {"eip155:1": ["https://a.example", "https://b.example"],
                         "eip155:10": ["http://c"]}


@pytest.mark.parametrize("value", ["eip155:1", "eip155:1=ftp://x", "eip155:1=http://"])
def test_env_endpoints_refuses_pairs_without_an_http_url(monkeypatch, value):
    monkeypatch.setenv("RPC", value)
    with pytest.raises(ImproperlyConfigured, match="RPC"):
        env_endpoints("RPC", "", namespaces=("eip155",))


def test_celery_is_configured_for_reliable_json_only_delivery():
    assert settings.CELERY_TASK_SERIALIZER == "json"
    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert settings.CELERY_TASK_ACKS_LATE is True
    assert settings.CELERY_TASK_REJECT_ON_WORKER_LOST is True
    assert settings.CELERY_TASK_TIME_LIMIT > settings.CELERY_TASK_SOFT_TIME_LIMIT


@pytest.mark.parametrize("key", ["", "short", "dev-only-audit-key-padded-to-be-long-enough-x"])
def test_production_mode_requires_a_real_audit_key(key):
    result = _check(DEBUG="0", SECRET_KEY="x" * 60, ALLOWED_HOSTS="lossproof.example",
                    REPORT_REF_KEY="y" * 40, AUDIT_KEY=key)

    assert result.returncode != 0
    assert "AUDIT_KEY" in result.stderr
