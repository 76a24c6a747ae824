"""The measurement table's stale marks once per statement instead of once per row (issue 12: a
laboratory file of a million values wrote a million marks, one trigger call each).

The earliest day a measurement can affect is, as in 0011_citizen_month_facts, its sample time's local
day, old and new. The statement triggers read the statement's rows from transition tables and write
one mark per citizen with the earliest of those days (of the old rows and the new ones: a value moved
to another citizen marks both, each from their own day). The incremental run reads the marks as the
earliest day per citizen and source (reporting.rollups._plan), so one mark per citizen with the
earliest day plans exactly what the row marks planned. Postgres allows a transition table only on a
trigger for one event: three triggers, one function."""

from django.conf import settings
from django.db import migrations

DAY = f"(measured_at AT TIME ZONE '{settings.TIME_ZONE}')::date"


def function(name: str, rows: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    INSERT INTO reporting_staleday (from_day, source, patient_id, at)
    SELECT min(day), TG_TABLE_NAME, patient_id, now()
    FROM ({rows}) AS touched
    WHERE day IS NOT NULL
    GROUP BY patient_id;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


FORWARD = f"""
DROP TRIGGER IF EXISTS reporting_mark_stale ON patients_measurement;
DROP FUNCTION IF EXISTS reporting_mark_stale_patients_measurement();
{function("reporting_mark_stale_measurement_new", f"SELECT {DAY} AS day, patient_id FROM new_rows")}
{function("reporting_mark_stale_measurement_old", f"SELECT {DAY} AS day, patient_id FROM old_rows")}
{
    function(
        "reporting_mark_stale_measurement_both",
        f"SELECT {DAY} AS day, patient_id FROM old_rows UNION ALL SELECT {DAY} AS day, patient_id FROM new_rows",
    )
}
CREATE TRIGGER reporting_mark_stale_insert AFTER INSERT ON patients_measurement
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_mark_stale_measurement_new();
CREATE TRIGGER reporting_mark_stale_update AFTER UPDATE ON patients_measurement
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_mark_stale_measurement_both();
CREATE TRIGGER reporting_mark_stale_delete AFTER DELETE ON patients_measurement
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_mark_stale_measurement_old();
"""


def reverse_sql() -> str:
    # Back to 0011's row trigger: its function is put back by re-running 0011's SQL (which also
    # writes its one mark from the beginning of time: harmless, the next run recomputes more).
    module = __import__("reporting.migrations.0011_citizen_month_facts", fromlist=["forward_sql"])
    return f"""
DROP TRIGGER IF EXISTS reporting_mark_stale_insert ON patients_measurement;
DROP TRIGGER IF EXISTS reporting_mark_stale_update ON patients_measurement;
DROP TRIGGER IF EXISTS reporting_mark_stale_delete ON patients_measurement;
DROP FUNCTION IF EXISTS reporting_mark_stale_measurement_new();
DROP FUNCTION IF EXISTS reporting_mark_stale_measurement_old();
DROP FUNCTION IF EXISTS reporting_mark_stale_measurement_both();
{module.forward_sql()}
CREATE TRIGGER reporting_mark_stale AFTER INSERT OR UPDATE OR DELETE ON patients_measurement
    FOR EACH ROW EXECUTE FUNCTION reporting_mark_stale_patients_measurement();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0012_calendar_indicators"),
    ]

    operations = [
        migrations.RunSQL(FORWARD, reverse_sql()),
    ]
