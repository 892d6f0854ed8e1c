from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from verification.checks.trades.catalogue import (
    layouts_markdown,
    layouts_template,
    readme_with_layouts,
    template_path,
)


class Command(BaseCommand):
    help = ("Print the table of trade-history layouts Lossproof reads; --write README.md updates it there "
            "and in the pages' partial, --check README.md fails when either is out of date.")

    def add_arguments(self, parser):
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--write", type=Path, metavar="README", help="update the block in this file")
        group.add_argument("--check", type=Path, metavar="README", help="exit 1 if the block is out of date")

    def handle(self, *args, write: Path | None, check: Path | None, **options):
        path = write or check
        if path is None:
            self.stdout.write(layouts_markdown())
            return
        try:
            text = path.read_text(encoding="utf-8")
            updated = readme_with_layouts(text)
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}", returncode=2) from None
        partial = template_path()
        if check and (updated != text or _read(partial) != layouts_template()):
            raise CommandError(f"{path}: the trade layouts table is out of date; run "
                               f"`manage.py trade_layouts --write {path}`", returncode=1)
        if write:
            path.write_text(updated, encoding="utf-8")
            partial.write_text(layouts_template(), encoding="utf-8")


def _read(path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""
