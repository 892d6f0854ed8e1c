"""What operators watch: the beat lease and the files sweep's findings."""

from django.db import models


class BeatLease(models.Model):
    """Who may send periodic tasks: one beat renews this lease, every other one waits for it to lapse."""

    name = models.CharField(max_length=40, unique=True)
    holder = models.CharField(max_length=200, blank=True)
    # Read by /metrics and the operator page: a beat that stopped renewing is a silent beat.
    renewed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder or 'nobody'}"


class FileSweep(models.Model):
    """One run of the files sweep: files that no row names and rows whose file is missing."""

    ran_at = models.DateTimeField(auto_now_add=True, db_index=True)
    files_checked = models.PositiveIntegerField(default=0)
    rows_checked = models.PositiveIntegerField(default=0)
    files_without_row = models.JSONField(default=list)  # storage:name, the first SAMPLE of them
    rows_without_file = models.JSONField(default=list)  # model:id name, the first SAMPLE of them
    files_without_row_count = models.PositiveIntegerField(default=0)
    rows_without_file_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return (f"sweep {self.ran_at:%Y-%m-%d %H:%M}: {self.files_without_row_count} files without row, "
                f"{self.rows_without_file_count} rows without file")
