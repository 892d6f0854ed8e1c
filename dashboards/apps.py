from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Public statistics and charts of published incidents, and the journalists' live preview."""

    name = "dashboards"

    def ready(self):
        from dashboards.receivers import connect

        connect()
