from django.apps import AppConfig


class RegistryConfig(AppConfig):
    """The published register: exports, signed releases, their changelogs and public reads."""

    name = "registry"
