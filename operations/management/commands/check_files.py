from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from operations.files import files_sweep


class Command(BaseCommand):
    help = ("Sweep evidence, draft and release storage: list files no row names and rows whose file is "
            "missing. Deletes nothing; exits 1 when something does not match.")

    def add_arguments(self, parser):
        parser.add_argument("--grace", type=int, default=settings.FILE_SWEEP_GRACE_SECONDS,
                            help="skip files younger than this many seconds (being written)")

    def handle(self, *args, grace: int, **options):
        sweep = files_sweep(grace=timedelta(seconds=grace))
        for name in sweep.files_without_row:
            self.stdout.write(f"file without row: {name}")
        for name in sweep.rows_without_file:
            self.stdout.write(f"row without file: {name}")
        summary = (f"{sweep.files_checked} files and {sweep.rows_checked} rows checked: "
                   f"{sweep.files_without_row_count} files without a row, "
                   f"{sweep.rows_without_file_count} rows without a file.")
        if sweep.files_without_row_count or sweep.rows_without_file_count:
            raise CommandError(summary, returncode=1)
        self.stdout.write(self.style.SUCCESS(summary))
