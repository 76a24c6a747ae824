"""Triggers that mark the figures stale: every insert, update or delete in a table that a figure is
computed from writes the earliest day it can affect into reporting_staleday (old and new values
both, so a value moved later still marks the month it left). The incremental rollup consumes those
rows. Being triggers, they see the admin, bulk updates and raw SQL as well as the services."""

from django.conf import settings
from django.db import migrations


def local(expression: str) -> str:
    return f"(({expression}) AT TIME ZONE '{settings.TIME_ZONE}')::date"


# table -> the earliest day a row can affect, written with R for the row (OLD or NEW).
SOURCES = {
    "patients_measurement": local("R.measured_at"),
    # Signing an encounter brings its values into the record.
    "patients_encounter": "LEAST({started}, (SELECT min({measured}) FROM patients_measurement m "
    "WHERE m.encounter_id = R.id))".format(started=local("R.started_at"), measured=local("m.measured_at")),
    "patients_condition": "R.diagnosed_on",
    "patients_enrolment": "R.start_on",
    "patients_teamresponsibility": "COALESCE(R.valid_from, DATE '0001-01-01')",
    "patients_relative": "LEAST(R.primary_caregiver_from, R.primary_caregiver_until)",
    "patients_goal": f"LEAST({local('R.created_at')}, R.achieved_on, R.dropped_on)",
    # A story consent decides whether the citizen's approved stories count.
    "patients_consent": "CASE WHEN R.kind = 'story_reports' THEN (SELECT min({decided}) FROM reporting_story s "
    "WHERE s.patient_id = R.patient_id AND s.decided_at IS NOT NULL) END".format(decided=local("s.decided_at")),
    "coordination_task": f"LEAST({local('R.created_at')}, R.due_on, {local('R.completed_at')})",
    "coordination_tasktransition": local("R.at"),
    "coordination_referral": "R.received_on",
    "reporting_story": local("R.decided_at"),
}


def forward_sql() -> str:
    statements = []
    for table, expression in SOURCES.items():
        old, new = expression.replace("R.", "OLD."), expression.replace("R.", "NEW.")
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION reporting_mark_stale_{table}() RETURNS trigger AS $$
            DECLARE day date;
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN day := {old}; END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN day := LEAST(day, {new}); END IF;
                IF day IS NOT NULL THEN
                    INSERT INTO reporting_staleday (from_day, source, at) VALUES (day, TG_TABLE_NAME, now());
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS reporting_mark_stale ON {table};
            CREATE TRIGGER reporting_mark_stale AFTER INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION reporting_mark_stale_{table}();
            """
        )
    return "\n".join(statements)


def reverse_sql() -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS reporting_mark_stale ON {t}; DROP FUNCTION IF EXISTS reporting_mark_stale_{t}();"
        for t in SOURCES
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_dated_facts"),
        ("patients", "0006_backfill_dated_facts"),
        ("coordination", "0005_task_created_by_rule"),
    ]
    operations = [migrations.RunSQL(forward_sql(), reverse_sql())]
