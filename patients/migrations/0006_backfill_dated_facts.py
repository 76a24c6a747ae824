"""Dated facts for the data that existed before they were kept: the team each citizen has now is
their team from the start, a primary caregiver is one from the day they were registered, a dropped
goal was dropped on the day it was created (the earliest day it could have been), a missing
diagnosis date is the day the citizen's first enrolment started (or the citizen was registered),
and a discharged or deceased citizen's open enrolments end on the day of their last change."""

from django.conf import settings
from django.db import migrations, models


def backfill(apps, schema_editor):
    zone = settings.TIME_ZONE
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO patients_teamresponsibility (patient_id, team_id, valid_from, recorded_at)
            SELECT p.id, p.team_id, NULL, now() FROM patients_patient p
            WHERE NOT EXISTS (SELECT 1 FROM patients_teamresponsibility t WHERE t.patient_id = p.id)
            """
        )
        cursor.execute(
            "UPDATE patients_relative SET primary_caregiver_from = (created_at AT TIME ZONE %s)::date "
            "WHERE is_primary_caregiver AND primary_caregiver_from IS NULL",
            [zone],
        )
        cursor.execute(
            "UPDATE patients_goal SET dropped_on = (created_at AT TIME ZONE %s)::date "
            "WHERE status = 'dropped' AND dropped_on IS NULL",
            [zone],
        )
        cursor.execute(
            """
            UPDATE patients_condition c SET diagnosed_on = COALESCE(
                (SELECT min(e.start_on) FROM patients_enrolment e WHERE e.patient_id = c.patient_id),
                (SELECT (p.created_at AT TIME ZONE %s)::date FROM patients_patient p WHERE p.id = c.patient_id)
            )
            WHERE c.diagnosed_on IS NULL
            """,
            [zone],
        )
        cursor.execute(
            """
            UPDATE patients_enrolment e
            SET end_on = GREATEST(e.start_on, (p.updated_at AT TIME ZONE %s)::date),
                end_reason = CASE WHEN p.status = 'deceased' THEN 'deceased' ELSE 'completed' END
            FROM patients_patient p
            WHERE p.id = e.patient_id AND e.end_on IS NULL AND p.status IN ('discharged', 'deceased')
            """,
            [zone],
        )


class Migration(migrations.Migration):
    dependencies = [("patients", "0005_dated_facts")]
    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="condition", name="diagnosed_on", field=models.DateField(verbose_name="diagnosed on")
        ),
        migrations.AlterField(
            model_name="conditionevent", name="diagnosed_on", field=models.DateField(verbose_name="diagnosed on")
        ),
    ]
