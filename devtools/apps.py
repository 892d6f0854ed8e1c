from django.apps import AppConfig


class DevtoolsConfig(AppConfig):
    """Local chain, demo data and test helpers; no models, nothing served."""

    name = "devtools"
