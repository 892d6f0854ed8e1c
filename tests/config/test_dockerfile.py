"""The image holds every folder the project runs from (no Docker engine here to build it)."""

import re

from django.apps import apps
from django.conf import settings

DOCKERFILE = (settings.BASE_DIR / "docker" / "Dockerfile").read_text()
COPIED = set(re.findall(r"^COPY (?:--\S+ )*(\S+) \./", DOCKERFILE, re.M))


def test_every_project_app_is_copied_into_the_image():
    local = {config.name.split(".")[0] for config in apps.get_app_configs()
             if (settings.BASE_DIR / config.name.split(".")[0]).is_dir()}

    assert local <= COPIED


def test_templates_static_files_and_translations_are_copied_too():
    assert {"templates", "static", "locale", "config", "manage.py"} <= COPIED
