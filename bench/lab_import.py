"""The laboratory import's speed (issue 12): a million-row CSV file, `psql \\copy` of the same file into a
bare table, and the import (patients.labimport: pandas checks, COPY into staging, merge), measured in one run.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/hc_lab .venv/bin/python bench/lab_import.py [--rows N]

The database is the bench's own: its lab values (and their history rows) are emptied first with TRUNCATE,
and citizens enough for the file's CPR numbers are added in SQL when missing. Prints the figures, and one
JSON line (prefixed `LAB_IMPORT_JSON `) that bench/run.py reads."""

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "healthcenter.settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402

from healthcenter.models import Role, Team, User  # noqa: E402
from patients import labimport  # noqa: E402
from patients.models import LabImport, MeasurementType  # noqa: E402

CITIZENS = 100_000
BENCH_PREFIX = "Labbench"

# Citizens born 1940-01-01 onwards, one a day; the serial's first digit (0-3) fits the 1900s.
SEED_CITIZENS = """
INSERT INTO patients_patient (public_id, cpr, first_name, last_name, birth_date, sex, address, postal_code, city,
    phone, email, gp_name, gp_phone, status, version, created_at, updated_at, team_id)
SELECT gen_random_uuid(), to_char(day, 'DDMMYY') || lpad((i / 20000 * 1000 + i %% 997)::text, 4, '0'),
       %(first)s, 'Nr ' || i, day, CASE WHEN i %% 2 = 1 THEN 'male' ELSE 'female' END, '', '', '', '', '', '', '',
       'active', 0, now(), now(), %(team)s
FROM generate_series(0, %(n)s - 1) AS i, LATERAL (SELECT DATE '1940-01-01' + (i %% 20000) AS day) AS d
ON CONFLICT (cpr) DO NOTHING
"""


def citizens(n: int) -> list[str]:
    team, _ = Team.objects.get_or_create(name="Lab bench")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM patients_patient WHERE first_name = %s", [BENCH_PREFIX])
        if cursor.fetchone()[0] < n:
            started = time.perf_counter()
            cursor.execute(SEED_CITIZENS, {"first": BENCH_PREFIX, "team": team.id, "n": n})
            print(f"seeded citizens in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        cursor.execute("SELECT cpr FROM patients_patient WHERE first_name = %s ORDER BY id LIMIT %s", [BENCH_PREFIX, n])
        return [row[0] for row in cursor.fetchall()]


def write_file(path: Path, rows: int, cprs: list[str]) -> None:
    """Mostly good rows, about 1 % bad (unknown CPR, implausible, unknown code), codes as laboratories send them."""
    rng = np.random.default_rng(12)
    types = {t.code: t for t in MeasurementType.objects.filter(code__in=labimport.IMPORTABLE_TYPES)}
    kinds = [  # code, unit, low, high, decimals
        (types["hba1c"].coding_code, "mmol/mol", 30, 110, 0),
        ("NPU27300", "mmol/mol", 30, 110, 0),
        ("NPU03835", "%", 5, 12, 1),
        (types["ldl"].coding_code, "mmol/L", 1, 6, 1),
        ("NPU01568", "mmol/L", 1, 6, 1),
        (types["urine_acr"].coding_code, "mg/mmol", 0, 50, 1),
    ]
    pick = rng.integers(0, len(kinds), rows)
    code = np.array([k[0] for k in kinds], dtype=object)[pick]
    unit = np.array([k[1] for k in kinds], dtype=object)[pick]
    low, high = np.array([k[2] for k in kinds])[pick], np.array([k[3] for k in kinds])[pick]
    decimals = np.array([k[4] for k in kinds])[pick]
    value = np.round(low + rng.random(rows) * (high - low), 1)
    value = np.where(decimals == 0, np.round(value), value)
    cpr = np.array(cprs, dtype=object)[rng.integers(0, len(cprs), rows)]
    bad = rng.random(rows)
    cpr = np.where(bad < 0.004, "0101009999", cpr)
    value = np.where((bad >= 0.004) & (bad < 0.007), 9999, value)
    code = np.where((bad >= 0.007) & (bad < 0.01), "NPU99999", code)
    now = pd.Timestamp.now(tz="UTC").floor("s")
    seconds = rng.integers(3600, 3 * 365 * 86400, rows)
    when = (now - pd.to_timedelta(seconds, unit="s")).tz_convert("Europe/Copenhagen")
    sampled = when.strftime("%Y-%m-%dT%H:%M:%S%z")
    frame = pd.DataFrame({"cpr": cpr, "code": code, "value": value, "unit": unit, "sampled_at": sampled})
    frame.to_csv(path, index=False)


def psql_copy(path: Path) -> float:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS lab_bench_bare")
        cursor.execute("CREATE TABLE lab_bench_bare (cpr text, code text, value text, unit text, sampled_at text)")
    url = os.environ["DATABASE_URL"]
    started = time.perf_counter()
    subprocess.run(  # noqa: S603
        ["psql", url, "-q", "-c", f"\\copy lab_bench_bare FROM '{path}' WITH (FORMAT csv, HEADER true)"],  # noqa: S607
        check=True,
    )
    seconds = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE lab_bench_bare")
    return seconds


def empty_lab_values() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM patients_measurement WHERE source <> 'lab' LIMIT 1)")
        if cursor.fetchone()[0]:
            cursor.execute("DELETE FROM patients_measurement WHERE source = 'lab'")
        else:
            cursor.execute("TRUNCATE patients_measurement, patients_measurementevent")
        cursor.execute("TRUNCATE reporting_staleday, coordination_caregapchange")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--citizens", type=int, default=CITIZENS)
    arguments = parser.parse_args()
    coordinator, _ = User.objects.get_or_create(
        username="lab-bench-coordinator", defaults={"role": Role.COORDINATOR, "first_name": "Lab", "last_name": "Bench"}
    )
    cprs = citizens(arguments.citizens)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "lab.csv"
        started = time.perf_counter()
        write_file(path, arguments.rows, cprs)
        print(
            f"wrote {arguments.rows} rows ({path.stat().st_size / 1e6:.0f} MB) "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        empty_lab_values()
        copy_seconds = psql_copy(path)
        figures = {"rows": arguments.rows, "psql_copy_s": copy_seconds}
        for run in ("first", "again"):
            started = time.perf_counter()
            with open(path, "rb") as handle:
                lab_import = labimport.lab_import_create(
                    actor=coordinator,
                    file_name=path.name,
                    content=iter(lambda: handle.read(1 << 20), b""),
                    file_format="csv",
                )
            outcome = labimport.run(lab_import)
            figures[f"import_{run}_s"] = time.perf_counter() - started
            figures[f"import_{run}"] = {
                "read": outcome.read,
                "loaded": outcome.loaded,
                "known": outcome.known,
                "rejected": outcome.rejected,
            }
            Path(LabImport.objects.get(pk=lab_import.pk).stored_as).unlink(missing_ok=True)
    figures["ratio"] = figures["import_first_s"] / copy_seconds
    figures["at"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"psql \\copy of {arguments.rows} rows into a bare table: {copy_seconds:.1f} s")
    for run in ("first", "again"):
        counts = figures[f"import_{run}"]
        print(
            f"import ({run}): {figures[f'import_{run}_s']:.1f} s, {counts['read']} read, {counts['loaded']} added, "
            f"{counts['known']} already there, {counts['rejected']} rejected"
        )
    print(f"import / psql \\copy: {figures['ratio']:.1f}x (target: at most 3x; about a minute)")
    print("LAB_IMPORT_JSON " + json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
