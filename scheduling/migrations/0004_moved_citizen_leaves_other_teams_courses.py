"""A citizen who moves to another team leaves the courses of the old team: that team no longer cares
for them, so it can neither see them on its course's pages nor take their attendance (the register
writes into the record). Their places still to come are cancelled by the centre and the participation
ends as a drop-out with the reason, in the same transaction as the move, whoever makes it. Their own
appointments stay: the new team sees them and moves or cancels them."""

from django.db import migrations

FORWARD = """
CREATE FUNCTION scheduling_moved_citizen_leaves_courses() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    reason text := 'Borgeren er flyttet til et andet team';
BEGIN
    WITH left_courses AS (
        UPDATE scheduling_courseparticipant p
           SET status = 'dropped_out', dropout_reason = reason, version = p.version + 1,
               dropped_out_on = (now() AT TIME ZONE 'Europe/Copenhagen')::date
          FROM scheduling_course c
         WHERE p.course_id = c.id AND p.patient_id = NEW.id AND p.status = 'enrolled'
           AND c.team_id IS DISTINCT FROM NEW.team_id
        RETURNING p.course_id
    )
    UPDATE scheduling_appointment a
       SET status = 'cancelled_centre', cancel_reason = reason, status_changed_at = now(), version = a.version + 1
      FROM scheduling_coursesession s
     WHERE a.session_id = s.id AND a.patient_id = NEW.id AND a.status = 'booked' AND a.starts_at > now()
       AND s.course_id IN (SELECT course_id FROM left_courses);
    RETURN NULL;
END $$;

CREATE TRIGGER scheduling_moved_citizen
AFTER UPDATE OF team_id ON patients_patient
FOR EACH ROW WHEN (OLD.team_id IS DISTINCT FROM NEW.team_id)
EXECUTE FUNCTION scheduling_moved_citizen_leaves_courses();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS scheduling_moved_citizen ON patients_patient;
DROP FUNCTION IF EXISTS scheduling_moved_citizen_leaves_courses();
"""


class Migration(migrations.Migration):
    dependencies = [("scheduling", "0003_leaving_citizen_frees_calendar")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
