from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from verification.prices import PriceFileError, read_price_file
from verification.services import prices_import


class Command(BaseCommand):
    help = "Load daily USD prices from a CSV file with the header date,symbol,usd."

    def add_arguments(self, parser):
        parser.add_argument("path", type=Path, help="CSV file: date,symbol,usd")

    def handle(self, *args, path: Path, **options):
        try:
            rows = read_price_file(path)
        except PriceFileError as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        count = prices_import(rows=rows)
        if options["verbosity"]:
            self.stdout.write(self.style.SUCCESS(f"Imported {count} daily prices from {path}."))
