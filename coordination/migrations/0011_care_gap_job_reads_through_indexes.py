"""The care-gap job finds the citizens awaiting a review through indexes only: reviews under other
rules through an index on the fingerprint, and citizens never reviewed as changes. A new citizen is
marked changed by a trigger, and every citizen without a review now gets a change row once, so the
job no longer needs to join every citizen to their review to find the ones never reviewed."""

from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION coordination_caregap_mark_new_citizen() RETURNS trigger AS $$
BEGIN
    INSERT INTO coordination_caregapchange (patient_id, at) SELECT id, now() FROM new_citizens;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS coordination_caregap_new_citizen ON patients_patient;
CREATE TRIGGER coordination_caregap_new_citizen AFTER INSERT ON patients_patient
    REFERENCING NEW TABLE AS new_citizens
    FOR EACH STATEMENT EXECUTE FUNCTION coordination_caregap_mark_new_citizen();
INSERT INTO coordination_caregapchange (patient_id, at)
SELECT p.id, now() FROM patients_patient p
 WHERE NOT EXISTS (SELECT 1 FROM coordination_caregapreview r WHERE r.patient_id = p.id);
"""

REVERSE = """
DROP TRIGGER IF EXISTS coordination_caregap_new_citizen ON patients_patient;
DROP FUNCTION IF EXISTS coordination_caregap_mark_new_citizen();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("coordination", "0010_task_indexes_for_worklist_board_workload"),
        ("patients", "0009_patient_keys_indexed_by_their_composites"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="caregapreview",
            index=models.Index(fields=["rules"], name="caregapreview_rules"),
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
