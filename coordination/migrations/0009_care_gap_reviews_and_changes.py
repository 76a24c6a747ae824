"""Care-gap reviews and the changes that call for one: the job re-evaluates only citizens whose data
changed or whose recheck day has come. Statement triggers (with transition tables, one row per
citizen per statement, so a bulk COPY of a million measurements writes one row per citizen) mark a
citizen changed whenever a table the rules read is written, by the services, the admin or raw SQL."""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

# Every table the care-gap rules read about a citizen (coordination.caregaps.find_gaps); each has
# patient_id. Rules, programmes and measurement codes are covered by the review's fingerprint.
SOURCES = [
    "patients_measurement",
    "patients_encounter",
    "patients_condition",
    "patients_enrolment",
    "patients_relative",
]

# Transition tables allow one event per trigger: one function per event, shared by the tables.
EVENTS = {
    "insert": ("INSERT", "NEW TABLE AS changed_rows", "SELECT patient_id FROM changed_rows"),
    "update": (
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS changed_rows",
        "SELECT patient_id FROM old_rows UNION SELECT patient_id FROM changed_rows",
    ),
    "delete": ("DELETE", "OLD TABLE AS old_rows", "SELECT patient_id FROM old_rows"),
}


def forward_sql() -> str:
    statements = []
    for event, (_verb, _referencing, patients) in EVENTS.items():
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION coordination_caregap_mark_{event}() RETURNS trigger AS $$
            BEGIN
                INSERT INTO coordination_caregapchange (patient_id, at)
                SELECT DISTINCT patient_id, now() FROM ({patients}) AS touched WHERE patient_id IS NOT NULL;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            """
        )
    for table in SOURCES:
        for event, (verb, referencing, _patients) in EVENTS.items():
            statements.append(
                f"""
                DROP TRIGGER IF EXISTS coordination_caregap_{event} ON {table};
                CREATE TRIGGER coordination_caregap_{event} AFTER {verb} ON {table}
                    REFERENCING {referencing}
                    FOR EACH STATEMENT EXECUTE FUNCTION coordination_caregap_mark_{event}();
                """
            )
    return "\n".join(statements)


def reverse_sql() -> str:
    triggers = [f"DROP TRIGGER IF EXISTS coordination_caregap_{e} ON {t};" for t in SOURCES for e in EVENTS]
    functions = [f"DROP FUNCTION IF EXISTS coordination_caregap_mark_{e}();" for e in EVENTS]
    return "\n".join(triggers + functions)


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0008_referral_source_centre"),
        ("patients", "0007_recording_exactly"),
    ]

    operations = [
        migrations.CreateModel(
            name="CareGapChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("patient_id", models.BigIntegerField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "indexes": [models.Index(fields=["patient_id"], name="caregapchange_patient")],
            },
        ),
        migrations.CreateModel(
            name="CareGapReview",
            fields=[
                (
                    "patient",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="patients.patient",
                    ),
                ),
                ("reviewed_on", models.DateField()),
                ("recheck_on", models.DateField(null=True)),
                ("rules", models.CharField(max_length=32)),
            ],
            options={
                "indexes": [models.Index(fields=["recheck_on"], name="caregapreview_recheck_due")],
            },
        ),
        migrations.RunSQL(forward_sql(), reverse_sql()),
    ]
