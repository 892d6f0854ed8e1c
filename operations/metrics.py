"""Prometheus exposition of the operations snapshot, built fresh on every scrape."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from operations.selectors import PROVIDER_WINDOW, Snapshot

WINDOW = f"{int(PROVIDER_WINDOW.total_seconds() // 60)} minutes"


class SnapshotCollector:
    """Turn one Snapshot into metric families (a registry calls collect() once per scrape)."""

    def __init__(self, data: Snapshot):
        self.data = data

    def collect(self):
        yield from self._queues()
        yield from self._reports()
        yield from self._providers()
        yield from self._liveness()
        yield from self._files()

    def _queues(self):
        depth = GaugeMetricFamily("lossproof_queue_depth", "Messages waiting in a queue.", labels=["queue"])
        for name, count in self.data.queues.items():
            if count is not None:
                depth.add_metric([name], count)
        yield depth
        yield _gauge("lossproof_broker_up", "1 when the broker answered this scrape.",
                     int(all(count is not None for count in self.data.queues.values())))

    def _reports(self):
        oldest = self.data.oldest_unchecked_seconds
        yield _gauge("lossproof_oldest_unchecked_report_age_seconds",
                     "Age of the oldest report still waiting for its first check (0: none).", oldest or 0)
        checks = GaugeMetricFamily("lossproof_checks", "Stored check results per check and outcome.",
                                   labels=["check", "outcome"])
        for row in self.data.checks:
            checks.add_metric([row["check_name"], row["outcome"]], row["count"])
        yield checks
        yield _gauge("lossproof_tasks_given_up", "Task messages abandoned after too many deliveries.",
                     self.data.tasks_given_up)

    def _providers(self):
        labels = ["chain", "provider"]
        calls = GaugeMetricFamily("lossproof_provider_calls",
                                  f"Chain endpoint requests in the last {WINDOW}.", labels=labels)
        errors = GaugeMetricFamily("lossproof_provider_errors",
                                   f"Failed chain endpoint requests in the last {WINDOW}.", labels=labels)
        latency = GaugeMetricFamily("lossproof_provider_latency_seconds",
                                    f"Chain endpoint request time in the last {WINDOW}.",
                                    labels=[*labels, "stat"])
        for row in self.data.providers:
            key = [row["chain"], row["provider"]]
            calls.add_metric(key, row["calls"])
            errors.add_metric(key, row["errors"])
            latency.add_metric([*key, "avg"], (row["avg_ms"] or 0) / 1000)
            latency.add_metric([*key, "max"], (row["max_ms"] or 0) / 1000)
        yield from (calls, errors, latency)

    def _liveness(self):
        if self.data.beat_age_seconds is not None:
            yield _gauge("lossproof_beat_lease_age_seconds", "Seconds since the beat last renewed its lease.",
                         self.data.beat_age_seconds)
        workers = GaugeMetricFamily("lossproof_worker_heartbeat_age_seconds",
                                    "Seconds since a worker last ran the heartbeat task.",
                                    labels=["hostname"])
        for worker in self.data.workers:
            workers.add_metric([worker["hostname"]], worker["age_seconds"])
        yield workers

    def _files(self):
        sweep = self.data.last_sweep
        if sweep is None:
            return
        orphans = GaugeMetricFamily("lossproof_file_orphans", "Mismatches the last files sweep found.",
                                    labels=["side"])
        orphans.add_metric(["file_without_row"], sweep.files_without_row_count)
        orphans.add_metric(["row_without_file"], sweep.rows_without_file_count)
        yield orphans
        yield _gauge("lossproof_file_sweep_timestamp_seconds", "When the last files sweep ran (Unix time).",
                     sweep.ran_at.timestamp())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def metrics_text(data: Snapshot) -> bytes:
    """Return the Prometheus text exposition of ``data``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(data))
    return generate_latest(registry)
