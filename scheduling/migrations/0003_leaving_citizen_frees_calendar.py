"""A citizen who is discharged or dies keeps no booked appointment and no course place: the calendar
must not send a professional to an empty home or an invitation to the bereaved. The status change is
patients' service, which cannot know the calendar (patients <- scheduling), so PostgreSQL does it,
in the same transaction as the change, whoever makes it (a page, the admin, a script). The change
history records it like any other write (pghistory's triggers on the rows changed here)."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION scheduling_free_calendar_of_leaving_citizen() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    reason text := CASE NEW.status WHEN 'deceased' THEN 'Borgeren er død' ELSE 'Borgeren er udskrevet' END;
BEGIN
    WITH freed AS (
        UPDATE scheduling_appointment
           SET status = 'cancelled_centre', cancel_reason = reason, status_changed_at = now(), version = version + 1
         WHERE patient_id = NEW.id AND status = 'booked' AND starts_at > now()
        RETURNING id
    )
    DELETE FROM scheduling_reservation WHERE appointment_id IN (SELECT id FROM freed);
    UPDATE scheduling_courseparticipant
       SET status = 'dropped_out', dropout_reason = reason, version = version + 1,
           dropped_out_on = (now() AT TIME ZONE 'Europe/Copenhagen')::date
     WHERE patient_id = NEW.id AND status = 'enrolled';
    UPDATE scheduling_waitinglistentry
       SET closed_on = (now() AT TIME ZONE 'Europe/Copenhagen')::date
     WHERE patient_id = NEW.id AND closed_on IS NULL;
    RETURN NULL;
END $$;

CREATE TRIGGER scheduling_leaving_citizen
AFTER UPDATE OF status ON patients_patient
FOR EACH ROW WHEN (OLD.status = 'active' AND NEW.status <> 'active')
EXECUTE FUNCTION scheduling_free_calendar_of_leaving_citizen();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS scheduling_leaving_citizen ON patients_patient;
DROP FUNCTION IF EXISTS scheduling_free_calendar_of_leaving_citizen();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("scheduling", "0002_session_cancel_reason"),
        ("patients", "0009_patient_keys_indexed_by_their_composites"),
    ]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
