from django.apps import AppConfig


class VerificationConfig(AppConfig):
    name = "verification"

    def ready(self):
        # incidents cannot import verification (docs/architecture.md): it calls these through its hooks.
        from verification.hooks import connect

        connect()
