"""Laboratory results in (issue 12): HbA1c, LDL and urine albumin/creatinine from a CSV file or a
FHIR Bundle of Observations.

The file is read with pandas in chunks and every rule runs on a whole chunk at once (vectorised):
the CPR number's form and date part (patients.cpr's rules), a registered citizen, a known code, the
catalogue's unit or one converted to it (HbA1c in % to mmol/mol by the IFCC formula), the catalogue's
plausible range, a readable sample time that is not in the future. A refused row is kept with its
raw values and the reason (LabImportError), the good rows are loaded with PostgreSQL COPY into a
temporary staging table and merged into patients_measurement with INSERT ... SELECT ... ON CONFLICT
DO NOTHING on the lab's natural key (citizen, type, sample time, value; source 'lab'). Each chunk is
its own transaction, so a file sent twice adds nothing and an import that was interrupted is simply
run again. The measurement table's statement triggers (care-gap changes, the rollups' stale marks)
fire for the merge like for any write; the change history's row trigger is skipped for the merge alone,
which writes the same insert events itself, set-based, under the import's context (load_rows)."""

import csv
import functools
import io
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pgtrigger
from django.apps import apps
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction
from healthcenter.outbox.services import job_enqueue
from healthcenter.spreadsheets import csv_separator, neutralise

from . import cpr as cpr_rules
from .models import (
    LabCode,
    LabImport,
    LabImportError,
    LabImportFormat,
    LabImportStatus,
    MeasurementType,
    Patient,
)

# The catalogue's types a laboratory may send (codes of MeasurementType, stable identifiers).
IMPORTABLE_TYPES = ("hba1c", "ldl", "urine_acr")
COLUMNS = ["cpr", "code", "value", "unit", "sampled_at"]
CHUNK_ROWS = 200_000
MERGE_ROWS = 5_000
RUN_TASK = "patients.tasks.run_lab_import"

# Why a row was refused, in the order the checks are made (the first that fails is reported).
REASONS = {
    "malformed": _(
        "The row does not have exactly the five columns cpr, code, value, unit and sampled_at, each filled in."
    ),
    "cpr_format": _("A CPR number has 10 digits, written DDMMYY-XXXX."),
    "cpr_date": _("The CPR number's first six digits are not a valid date (DDMMYY)."),
    "cpr_unknown": _("No citizen with this CPR number is registered."),
    "code_unknown": _("The code is not an HbA1c, LDL or urine albumin/creatinine code in the catalogue."),
    "value_format": _("The value is not a number."),
    "unit_wrong": _("The unit does not match the catalogue's and cannot be converted."),
    "implausible": _("The value is outside the catalogue's plausible range."),
    "time_format": _("The sample time cannot be read (ISO 8601, e.g. 2026-03-01T08:30:00+01:00)."),
    "time_ambiguous": _("The local sample time falls in a clock change; give it with its UTC offset."),
    "time_future": _("The sample time is in the future."),
}


def hba1c_percent_to_mmol_per_mol(percent):
    """IFCC from DCCT: mmol/mol = (% - 2.15) x 10.929, rounded to a whole number (half away from zero)."""
    mmol = (np.asarray(percent, dtype=float) - 2.15) * 10.929
    return np.sign(mmol) * np.floor(np.abs(mmol) + 0.5)


# (catalogue type, unit as sent, lower case) -> conversion to the catalogue's unit.
CONVERSIONS: dict[tuple[str, str], Callable] = {("hba1c", "%"): hba1c_percent_to_mmol_per_mol}


def _unit_key(unit: str) -> str:
    return re.sub(r"\s", "", unit or "").lower()


@dataclass(frozen=True)
class Catalogue:
    """The code map, built from the catalogue (MeasurementType.coding_code and LabCode)."""

    type_of_code: dict[str, int]  # upper-cased code -> MeasurementType id
    type_code: dict[int, str]
    unit: dict[int, str]  # the catalogue's unit, normalised
    low: dict[int, float]
    high: dict[int, float]
    decimals: dict[int, int]

    @classmethod
    def load(cls) -> "Catalogue":
        types = list(MeasurementType.objects.filter(code__in=IMPORTABLE_TYPES))
        codes = {t.coding_code.strip().upper(): t.id for t in types}
        for code, type_id in LabCode.objects.filter(type__in=types).values_list("code", "type_id"):
            codes[code.strip().upper()] = type_id
        return cls(
            type_of_code=codes,
            type_code={t.id: t.code for t in types},
            unit={t.id: _unit_key(t.unit) for t in types},
            low={t.id: float(t.plausible_min) for t in types},
            high={t.id: float(t.plausible_max) for t in types},
            decimals={t.id: t.decimal_places for t in types},
        )


# --- CPR numbers, vectorised (the rules of patients.cpr.parse_cpr) --------------------------------------


# The century of every (seventh digit, two-digit year), from patients.cpr's own rule: looked up for a
# whole chunk at once, never written out a second time.
_CENTURIES = np.array([[cpr_rules._century(seventh, year) for year in range(100)] for seventh in range(10)])


def cpr_checks(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """For a Series of raw CPR texts: (the ten digits or "", the reason code or "") per row, with the
    rules of patients.cpr.parse_cpr: whitespace left out, DDMMYY-XXXX with or without the dash, the
    seventh digit and the year giving the century, a real date, not in the future."""
    text = raw.fillna("").astype(str).str.replace(r"\s", "", regex=True)
    well_formed = text.str.fullmatch(cpr_rules._CPR_RE.pattern)
    digits = text.str.replace("-", "", regex=False).where(well_formed, "0101000000")
    day = pd.to_numeric(digits.str[0:2])
    month = pd.to_numeric(digits.str[2:4])
    year = pd.to_numeric(digits.str[4:6])
    seventh = pd.to_numeric(digits.str[6])
    century = _CENTURIES[seventh.to_numpy(dtype=int), year.to_numpy(dtype=int)]
    born = pd.to_datetime(pd.DataFrame({"year": century + year, "month": month, "day": day}), errors="coerce")
    today = pd.Timestamp(timezone.localdate())
    reason = np.select([~well_formed, born.isna() | (born > today)], ["cpr_format", "cpr_date"], "")
    return digits.where(well_formed, ""), pd.Series(reason, index=raw.index)


# --- sample times ------------------------------------------------------------------------------------------

# An offset after a time of day (a date alone, 2026-03-01, ends in "-01" but has none).
_OFFSET = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?\s*(?:[Zz]|[+-][0-9]{2}(?::?[0-9]{2})?)$"


def sample_times(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps, reason code or "") per row: ISO 8601 with an offset, or local Copenhagen time without."""
    text = raw.fillna("").astype(str).str.strip()
    # A year no laboratory sample has (pandas' nanosecond times end in 2262) is an unreadable time.
    year = pd.to_numeric(text.str.extract(r"^(\d{4})", expand=False), errors="coerce")
    text = text.where(year.between(1900, 2200), "")
    has_offset = text.str.contains(_OFFSET, regex=True)
    result = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    reason = pd.Series("", index=raw.index, dtype=object)
    if has_offset.any():
        result[has_offset] = pd.to_datetime(text[has_offset], format="ISO8601", utc=True, errors="coerce")
    local = ~has_offset
    if local.any():
        naive = pd.to_datetime(text[local], format="ISO8601", errors="coerce")
        if getattr(naive.dt, "tz", None) is not None:  # pragma: no cover - guarded by the offset test
            naive = naive.dt.tz_convert(None)
        placed = naive.dt.tz_localize(settings.TIME_ZONE, ambiguous="NaT", nonexistent="NaT")
        reason[local & naive.reindex(raw.index).notna() & placed.reindex(raw.index).isna()] = "time_ambiguous"
        result[local] = placed.dt.tz_convert("UTC")
    reason[(reason == "") & result.isna()] = "time_format"
    reason[(reason == "") & (result > pd.Timestamp(timezone.now()))] = "time_future"
    return result, reason


# --- validating one chunk ----------------------------------------------------------------------------------


@dataclass
class Checked:
    good: pd.DataFrame  # row, patient_id, type_id, measured_us, value_c
    bad: pd.DataFrame  # row, reason, and the raw columns


def check_chunk(frame: pd.DataFrame, catalogue: Catalogue, citizens: pd.Series) -> Checked:
    """`frame` has the raw text columns of COLUMNS, `row` (the file's row number) and `extra` (True
    where the row had more columns than five); `citizens` maps CPR digits to patient ids."""
    # A NUL character is no part of any value, and PostgreSQL keeps none in text: the row is malformed,
    # and the report shows the character as U+FFFD.
    raw = frame[COLUMNS].fillna("").astype(str)
    has_nul = raw.apply(lambda column: column.str.contains("\x00", regex=False)).any(axis=1)
    raw = raw.apply(lambda column: column.str.replace("\x00", "\ufffd", regex=False))
    malformed = (raw.apply(lambda column: column.str.strip()) == "").any(axis=1) | frame["extra"] | has_nul
    digits, cpr_reason = cpr_checks(frame["cpr"])
    patient_id = digits.map(citizens)
    code = raw["code"].astype(str).str.strip().str.upper()
    type_id = code.map(catalogue.type_of_code)
    value = pd.to_numeric(raw["value"].astype(str).str.strip().str.replace(",", ".", regex=False), errors="coerce")
    unit = raw["unit"].astype(str).str.replace(r"\s", "", regex=True).str.lower()

    expected_unit = type_id.map(catalogue.unit)
    unit_ok = unit == expected_unit
    for (type_code, from_unit), convert in CONVERSIONS.items():
        ids = [i for i, c in catalogue.type_code.items() if c == type_code]
        convertible = type_id.isin(ids) & (unit == from_unit)
        if convertible.any():
            value[convertible] = convert(value[convertible])
            unit_ok |= convertible
    decimals = type_id.map(catalogue.decimals).fillna(2)
    value = (value * 10.0**decimals).round() / 10.0**decimals
    plausible = (value >= type_id.map(catalogue.low)) & (value <= type_id.map(catalogue.high))
    measured, time_reason = sample_times(frame["sampled_at"])

    reason = np.select(
        [
            malformed,
            cpr_reason == "cpr_format",
            cpr_reason == "cpr_date",
            patient_id.isna(),
            type_id.isna(),
            value.isna(),
            ~unit_ok,
            ~plausible,
            time_reason != "",
        ],
        [
            "malformed",
            "cpr_format",
            "cpr_date",
            "cpr_unknown",
            "code_unknown",
            "value_format",
            "unit_wrong",
            "implausible",
            time_reason,
        ],
        "",
    )
    ok = reason == ""
    good = pd.DataFrame(
        {
            "row": frame["row"][ok],
            "patient_id": patient_id[ok].astype("int64"),
            "type_id": type_id[ok].astype("int64"),
            "measured_us": measured[ok].astype("int64") // 1000,
            "value_c": np.rint(value[ok] * 100).astype("int64"),
        }
    )
    bad = raw[~ok].astype(str).copy()
    bad.insert(0, "reason", reason[~ok])
    bad.insert(0, "row", frame["row"][~ok])
    return Checked(good=good, bad=bad)


# --- reading the file ---------------------------------------------------------------------------------------

EXTRA = [f"_extra{i}" for i in range(20)]


def csv_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """The CSV file in chunks of raw text columns. The header names the columns (any order, comma or
    semicolon); rows are numbered as a spreadsheet shows them (the header is row 1)."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        first = handle.readline()
    separator = ";" if first.count(";") > first.count(",") else ","
    header = [name.strip().lower() for name in next(csv.reader([first], delimiter=separator), [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ValueError(f"The header lacks the column(s) {', '.join(missing)}.")
    names = header + EXTRA
    reader = pd.read_csv(
        path,
        sep=separator,
        header=None,
        names=names,
        skiprows=1,
        dtype=str,
        keep_default_na=False,
        na_values=[],
        chunksize=chunk_rows,
        encoding="utf-8-sig",
        engine="c",
        skip_blank_lines=False,
        index_col=False,
    )
    row = 2
    for chunk in reader:
        frame = pd.DataFrame(index=chunk.index)
        # A short row leaves the columns past its end missing (NaN); a long one fills the extra columns.
        for name in COLUMNS:
            frame[name] = chunk[name]
        blank = chunk[header].isna().all(axis=1) | (chunk[header].fillna("") == "").all(axis=1)
        frame["extra"] = chunk[EXTRA].notna().any(axis=1) & (chunk[EXTRA].fillna("") != "").any(axis=1)
        frame["row"] = np.arange(row, row + len(chunk))
        row += len(chunk)
        yield frame[~blank].reset_index(drop=True)


def fhir_chunks(path: Path, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """A FHIR Bundle of Observations as the same raw columns: subject.identifier (the CPR), the first
    coding of code.coding that the catalogue knows (else the first), valueQuantity's value and unit
    (or code), effectiveDateTime. The entry's number (from 1) stands for the row."""
    bundle = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise ValueError("The file is not a FHIR Bundle.")
    known = Catalogue.load().type_of_code
    rows = []
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise ValueError("The Bundle's entry is not a list.")
    for number, entry in enumerate(entries, start=1):
        resource = (entry.get("resource") if isinstance(entry, dict) else None) or {}
        if not isinstance(resource, dict):
            resource = {}
        try:
            if resource.get("resourceType") != "Observation":
                raise TypeError
            identifier = (resource.get("subject") or {}).get("identifier") or {}
            codings = (resource.get("code") or {}).get("coding") or []
            codes = [str(c.get("code", "")) for c in codings if isinstance(c, dict)]
            code = next((c for c in codes if c.strip().upper() in known), codes[0] if codes else None)
            quantity = resource.get("valueQuantity") or {}
            value = quantity.get("value")
            rows.append(
                {
                    "cpr": identifier.get("value"),
                    "code": code,
                    "value": None if value is None else str(value),
                    "unit": quantity.get("unit") or quantity.get("code"),
                    "sampled_at": resource.get("effectiveDateTime"),
                    "extra": False,
                    "row": number,
                }
            )
        except (TypeError, AttributeError):
            rows.append({**dict.fromkeys(COLUMNS), "extra": True, "row": number})
    for start in range(0, len(rows), chunk_rows):
        yield pd.DataFrame(rows[start : start + chunk_rows], columns=[*COLUMNS, "extra", "row"])


def chunks(path: Path, file_format: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    return (fhir_chunks if file_format == LabImportFormat.FHIR else csv_chunks)(path, chunk_rows)


# --- loading -----------------------------------------------------------------------------------------------

STAGING = """
CREATE TEMPORARY TABLE IF NOT EXISTS lab_import_staging (
    patient_id integer NOT NULL, type_id integer NOT NULL, measured_us bigint NOT NULL, value_c bigint NOT NULL
) ON COMMIT DELETE ROWS
"""

# The history's trigger name (pgtrigger's URI) on the measurement table: the merge skips it and writes the
# same insert events set-based from the rows it added (see load_rows).
HISTORY_TRIGGER = "patients.Measurement:insert_insert"


@functools.cache
def merge_sql() -> str:
    """The merge, and the change history's insert event of every row it adds: the columns pghistory's row
    trigger copies (the event model's own, without its pgh_ ones), the context, now() and the label
    'insert' as the trigger writes them, taken from the added rows themselves (RETURNING)."""
    tracked = [
        field.column
        for field in apps.get_model("patients", "MeasurementEvent")._meta.concrete_fields
        if not field.column.startswith("pgh_")
    ]
    columns = ", ".join(f'"{column}"' for column in tracked)
    # The columns are the model's own names, not input.
    return f"""
WITH added AS (
    INSERT INTO patients_measurement (
        public_id, patient_id, type_id, value, result, measured_at, source, recorded_by_id, recorded_at,
        correction_reason
    )
    SELECT gen_random_uuid(), patient_id, type_id, value_c / 100.0, '',
           timestamptz 'epoch' + measured_us * interval '1 microsecond', 'lab', %s, now(), ''
    FROM lab_import_staging
    ON CONFLICT (patient_id, type_id, measured_at, value) WHERE source = 'lab' DO NOTHING
    RETURNING *
), events AS (
    INSERT INTO patients_measurementevent ({columns}, pgh_obj_id, pgh_context_id, pgh_created_at, pgh_label)
    SELECT {columns}, id, %s::uuid, now(), 'insert' FROM added
)
SELECT patient_id, count(*) FROM added GROUP BY patient_id
"""  # noqa: S608  # nosec B608 - the columns are the event model's own names, not input


def load_rows(good: pd.DataFrame, *, recorded_by_id: int | None, context: LabImport | None = None) -> dict[int, int]:
    """COPY the checked rows into the staging table and merge them, in the caller's transaction;
    returns the rows added per citizen. The change history's insert events are written by the merge
    itself, one statement for all its rows, with pghistory's row trigger skipped for that statement
    (pgtrigger.ignore: a session setting the trigger reads, no superuser needed); they name the import
    (the context: the import's public id and the user), as a request's name its URL and user."""
    if good.empty:
        return {}
    buffer = io.StringIO()
    good[["patient_id", "type_id", "measured_us", "value_c"]].to_csv(buffer, sep="\t", header=False, index=False)
    with connection.cursor() as cursor:
        if context is not None:
            metadata = {"lab_import": str(context.public_id), "user": context.uploaded_by_id}
            cursor.execute(
                "SELECT set_config('pghistory.context_id', %s, true), "
                "set_config('pghistory.context_metadata', %s, true)",
                [str(context.public_id), json.dumps(metadata)],
            )
        # The context row as pghistory's trigger would write it (none without a context: NULL).
        cursor.execute("SELECT _pgh_attach_context()")
        context_id = cursor.fetchone()[0]
        cursor.execute(STAGING)
        cursor.execute("TRUNCATE lab_import_staging")  # emptied at each commit; also within one (tests, savepoints)
        with (
            cursor.connection.cursor() as raw,
            raw.copy("COPY lab_import_staging (patient_id, type_id, measured_us, value_c) FROM STDIN") as copy,
        ):
            copy.write(buffer.getvalue())
        with pgtrigger.ignore(HISTORY_TRIGGER):
            cursor.execute(merge_sql(), [recorded_by_id, context_id])
            return dict(cursor.fetchall())


def citizens_by_cpr() -> pd.Series:
    numbers = list(Patient.objects.values_list("cpr", "id"))
    return pd.Series(dict(numbers), dtype="int64")


@dataclass
class Outcome:
    read: int = 0
    loaded: int = 0
    known: int = 0
    rejected: int = 0


def run(
    lab_import: LabImport,
    *,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[Outcome], None] | None = None,
) -> Outcome:
    """Runs (or runs again) one import: its errors and counts start afresh; rows already merged by an
    earlier, interrupted run are found by the natural key and not added twice."""
    LabImport.objects.filter(pk=lab_import.pk).update(
        status=LabImportStatus.RUNNING,
        started_at=timezone.now(),
        finished_at=None,
        failure="",
        rows_read=0,
        rows_loaded=0,
        rows_known=0,
        rows_rejected=0,
    )
    LabImportError.objects.filter(lab_import=lab_import).delete()
    catalogue, citizens = Catalogue.load(), citizens_by_cpr()
    outcome, touched = Outcome(), set()
    try:
        for frame in chunks(Path(lab_import.stored_as), lab_import.format, chunk_rows):
            checked = check_chunk(frame, catalogue, citizens)
            good = checked.good
            # Merged MERGE_ROWS at a time, each its own transaction (an interrupted run loses little; with
            # the history written set-based, 50,000 a transaction was measured no faster).
            for start in range(0, len(good), MERGE_ROWS):
                batch = good.iloc[start : start + MERGE_ROWS]
                with transaction.atomic():
                    added = load_rows(batch, recorded_by_id=lab_import.uploaded_by_id, context=lab_import)
                outcome.loaded += sum(added.values())
                outcome.known += len(batch) - sum(added.values())
                touched.update(added)
            with transaction.atomic():
                errors_save(lab_import, checked.bad)
                outcome.read += len(frame)
                outcome.rejected += len(checked.bad)
                LabImport.objects.filter(pk=lab_import.pk).update(
                    rows_read=outcome.read,
                    rows_loaded=outcome.loaded,
                    rows_known=outcome.known,
                    rows_rejected=outcome.rejected,
                )
            if progress:
                progress(outcome)
    except Exception as error:
        LabImport.objects.filter(pk=lab_import.pk).update(
            status=LabImportStatus.FAILED, finished_at=timezone.now(), failure=f"{type(error).__name__}: {error}"[:2000]
        )
        raise
    with transaction.atomic():
        if lab_import.uploaded_by_id and touched:
            public_ids = Patient.objects.filter(pk__in=touched).values_list("public_id", flat=True)
            access.record_many(
                actor=lab_import.uploaded_by,
                action=AccessAction.CREATE,
                what=gettext_noop("Laboratory results imported"),
                patient_public_ids=public_ids.iterator(chunk_size=5000),
            )
        LabImport.objects.filter(pk=lab_import.pk).update(status=LabImportStatus.DONE, finished_at=timezone.now())
    return outcome


def errors_save(lab_import: LabImport, bad: pd.DataFrame) -> None:
    LabImportError.objects.bulk_create(
        (
            LabImportError(
                lab_import=lab_import,
                row=int(row.row),
                reason=row.reason,
                cpr=row.cpr[:40],
                code=row.code[:40],
                value=row.value[:40],
                unit=row.unit[:40],
                sampled_at=row.sampled_at[:60],
            )
            for row in bad.itertuples(index=False)
        ),
        batch_size=5000,
    )


# --- the service the page and the command call -----------------------------------------------------------


def storage_dir() -> Path:
    return Path(getattr(settings, "LAB_IMPORT_DIR", settings.BASE_DIR / ".local" / "lab-imports"))


def lab_import_create(
    *, actor, file_name: str, content: Iterator[bytes], file_format: str, source: str = ""
) -> LabImport:
    """Keeps the file and records the import (one access-log row for the import itself); `lab_import_start`
    or the command runs it."""
    if not access.may(actor, access.Work.TRIAGE):
        raise PermissionError("Laboratory imports are a coordinator's work.")
    folder = storage_dir()
    folder.mkdir(parents=True, exist_ok=True)
    stored = folder / f"{uuid.uuid4()}.{'json' if file_format == LabImportFormat.FHIR else 'csv'}"
    with open(stored, "wb") as handle:
        for part in content:
            handle.write(part)
    lab_import = LabImport.objects.create(
        uploaded_by=actor, file_name=file_name[:255], stored_as=str(stored), format=file_format, source=source[:100]
    )
    access.record(
        actor=actor,
        action=AccessAction.CREATE,
        what=gettext_noop("Laboratory file imported") + f" {lab_import.public_id}",
    )
    return lab_import


def lab_import_start(*, actor, file_name: str, content: Iterator[bytes], file_format: str) -> LabImport:
    """The browser's way: the file is kept and the job asked for in one transaction (the outbox)."""
    with transaction.atomic():
        lab_import = lab_import_create(actor=actor, file_name=file_name, content=content, file_format=file_format)
        job_enqueue(task=RUN_TASK, kwargs={"lab_import_id": lab_import.pk})
    return lab_import


# --- the report --------------------------------------------------------------------------------------------


def report_rows(lab_import: LabImport) -> Iterator[list]:
    """The error report's rows (header first), every raw text neutralised for spreadsheets."""
    yield [_("Row"), _("Reason"), "cpr", "code", "value", "unit", "sampled_at"]
    for error in lab_import.errors.order_by("row").iterator(chunk_size=5000):
        yield [error.row, str(REASONS.get(error.reason, error.reason))] + [
            neutralise(cell) for cell in (error.cpr, error.code, error.value, error.unit, error.sampled_at)
        ]


def report_csv(lab_import: LabImport, out) -> None:
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=csv_separator())
    for row in report_rows(lab_import):
        writer.writerow(row)
