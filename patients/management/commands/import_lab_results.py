"""`manage.py import_lab_results <file> [--format csv|fhir] --user <username>`: the same import as the
browser's upload page (patients.labimport), run in this process with a progress bar."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from patients import labimport
from patients.models import LabImportFormat


def _lines(path: Path) -> int:
    with open(path, "rb") as handle:
        return max(sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b"")) - 1, 0)


class Command(BaseCommand):
    help = "Imports laboratory results (HbA1c, LDL, urine albumin/creatinine) from a CSV file or a FHIR Bundle."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--format", choices=[f.value for f in LabImportFormat], default=None)
        parser.add_argument("--user", required=True, help="the coordinator the import is done for (logged)")
        parser.add_argument("--chunk-rows", type=int, default=labimport.CHUNK_ROWS)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, file: Path, format: str | None, user: str, chunk_rows: int, no_progress: bool, **options):
        if not file.is_file():
            raise CommandError(f"{file} is not a file")
        actor = get_user_model().objects.filter(username=user).first()
        if actor is None:
            raise CommandError(f"No user {user}")
        file_format = format or (LabImportFormat.FHIR if file.suffix.lower() == ".json" else LabImportFormat.CSV)
        try:
            with open(file, "rb") as handle:
                lab_import = labimport.lab_import_create(
                    actor=actor,
                    file_name=file.name,
                    content=iter(lambda: handle.read(1 << 20), b""),
                    file_format=file_format,
                )
        except PermissionError as error:
            raise CommandError(str(error)) from None
        total = _lines(file) if file_format == LabImportFormat.CSV else None
        bar = tqdm(total=total, unit="rows", disable=no_progress, file=self.stderr._out)

        def progress(outcome):
            bar.update(outcome.read - bar.n)
            bar.set_postfix(loaded=outcome.loaded, rejected=outcome.rejected)

        try:
            outcome = labimport.run(lab_import, chunk_rows=chunk_rows, progress=progress)
        except ValueError as error:
            raise CommandError(str(error)) from None
        finally:
            bar.close()
        self.stdout.write(
            f"{lab_import.public_id}: {outcome.read} rows read, {outcome.loaded} added, "
            f"{outcome.known} already there, {outcome.rejected} rejected"
        )
