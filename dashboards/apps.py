from django.apps import AppConfig


class DashboardsConfig(AppConfig):
    """Public statistics and charts of published incidents, and the journalists' live preview."""

    name = "dashboards"

    def ready(self):
        # tasks registers rebuild_summary_task with Celery in every process, web ones included:
        # services queue it by name (tasks import services, never the reverse).
        from dashboards import tasks  # noqa: F401
        from dashboards.receivers import connect

        connect()
