"""Per-citizen facts of a month (reporting.CitizenMonth), and stale marks that name the citizen.

The triggers of 0007_stale_triggers are replaced by ones that also write the citizen of the row, so
that an incremental rollup recomputes only that citizen's facts. The facts table starts empty: one
mark from the beginning of time, for nobody in particular, makes the next incremental run compute
every kept month's facts for everyone."""

import django.contrib.postgres.fields
from django.conf import settings
from django.db import migrations, models


def local(expression: str) -> str:
    return f"(({expression}) AT TIME ZONE '{settings.TIME_ZONE}')::date"


# table -> the earliest day a row can affect (as in 0007), written with R for the row (OLD or NEW).
SOURCES = {
    "patients_measurement": local("R.measured_at"),
    "patients_encounter": "LEAST({started}, (SELECT min({measured}) FROM patients_measurement m "
    "WHERE m.encounter_id = R.id))".format(started=local("R.started_at"), measured=local("m.measured_at")),
    "patients_condition": "R.diagnosed_on",
    "patients_enrolment": "R.start_on",
    "patients_teamresponsibility": "COALESCE(R.valid_from, DATE '0001-01-01')",
    "patients_relative": "LEAST(R.primary_caregiver_from, R.primary_caregiver_until)",
    "patients_goal": f"LEAST({local('R.created_at')}, R.achieved_on, R.dropped_on)",
    "patients_consent": "CASE WHEN R.kind = 'story_reports' THEN (SELECT min({decided}) FROM reporting_story s "
    "WHERE s.patient_id = R.patient_id AND s.decided_at IS NOT NULL) END".format(decided=local("s.decided_at")),
    "coordination_task": f"LEAST({local('R.created_at')}, R.due_on, {local('R.completed_at')})",
    "coordination_tasktransition": local("R.at"),
    "coordination_referral": "R.received_on",
    "reporting_story": local("R.decided_at"),
}
# The tables whose rows belong to one citizen's own facts (the others feed the operational figures).
CITIZEN_TABLES = {
    "patients_measurement",
    "patients_encounter",
    "patients_condition",
    "patients_enrolment",
    "patients_teamresponsibility",
    "patients_relative",
    "patients_goal",
    "patients_consent",
}


def forward_sql() -> str:
    statements = []
    for table, expression in SOURCES.items():
        old, new = expression.replace("R.", "OLD."), expression.replace("R.", "NEW.")
        has_patient = table in CITIZEN_TABLES
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION reporting_mark_stale_{table}() RETURNS trigger AS $$
            DECLARE day date; old_day date; new_day date;
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN old_day := {old}; END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN new_day := {new}; END IF;
                {
                "IF TG_OP = 'UPDATE' AND OLD.patient_id IS DISTINCT FROM NEW.patient_id THEN "
                "IF old_day IS NOT NULL THEN INSERT INTO reporting_staleday (from_day, source, patient_id, at) "
                "VALUES (old_day, TG_TABLE_NAME, OLD.patient_id, now()); END IF; old_day := NULL; END IF;"
                if has_patient
                else ""
            }
                day := LEAST(old_day, new_day);
                IF day IS NOT NULL THEN
                    INSERT INTO reporting_staleday (from_day, source, patient_id, at)
                    VALUES (day, TG_TABLE_NAME, {
                "CASE WHEN TG_OP = 'DELETE' THEN OLD.patient_id ELSE NEW.patient_id END" if has_patient else "NULL"
            }, now());
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
    statements.append(
        "INSERT INTO reporting_staleday (from_day, source, patient_id, at) "
        "VALUES (DATE '0001-01-01', 'reporting_citizenmonth', NULL, now());"
    )
    return "\n".join(statements)


def reverse_sql() -> str:
    # The functions of 0007 ignore the new column; they are put back by re-running 0007's SQL.
    module = __import__("reporting.migrations.0007_stale_triggers", fromlist=["forward_sql"])
    return module.forward_sql()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0010_run_labels"),
    ]

    operations = [
        migrations.AddField(
            model_name="staleday",
            name="patient_id",
            field=models.IntegerField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="CitizenMonth",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("patient_id", models.IntegerField()),
                ("team_id", models.IntegerField(null=True)),
                (
                    "diabetes_programmes",
                    django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
                ),
                (
                    "dementia_programmes",
                    django.contrib.postgres.fields.ArrayField(base_field=models.IntegerField(), null=True, size=None),
                ),
                ("latest_hba1c", models.DecimalField(decimal_places=2, max_digits=8, null=True)),
                ("goal_low", models.DecimalField(decimal_places=2, max_digits=8, null=True)),
                ("goal_high", models.DecimalField(decimal_places=2, max_digits=8, null=True)),
                ("bp_measured", models.BooleanField(default=False)),
                ("albumin_screened", models.BooleanField(default=False)),
                ("eye_screened", models.BooleanField(default=False)),
                ("foot_examined", models.BooleanField(default=False)),
                ("cognition_tested", models.BooleanField(default=False)),
                ("latest_dementia", models.CharField(blank=True, max_length=20)),
                ("caregiver_registered", models.BooleanField(default=False)),
                ("caregiver_spoken_with", models.BooleanField(default=False)),
            ],
            options={
                "indexes": [models.Index(fields=["month"], name="citizenmonth_month")],
                "constraints": [
                    models.UniqueConstraint(fields=("patient_id", "month"), name="one_fact_row_per_citizen_month")
                ],
            },
        ),
        migrations.RunSQL(forward_sql(), reverse_sql()),
    ]
