"""OPS-NO-SHOW and OPS-COURSE-COMPLETION (issue 13): the two indicators as reference data, and triggers
that mark them stale (as 0007_stale_triggers and 0011_citizen_month_facts do for the other sources).

The earliest day a change can affect, for each calendar table:
- an appointment: its start's local day (OPS-NO-SHOW counts it in that month); an appointment for a
  course session also moves the course's completion figure, in the month of the course's last held
  session, which is never before the course's first session: the earlier of the two;
- a session (moved, cancelled, added, removed), a participant (joined, dropped out) or a course (its
  team or programme): the first session of the course, or the session's own start when earlier (a
  session moved or removed leaves from there). The course's last held session, whose month the figure
  is counted in, is never before either.
The marks name no citizen: these are operational figures, not a citizen's own facts. Finally one mark
from the beginning of time for each figure, so that the next incremental run computes the new
indicators for every kept month."""

from decimal import Decimal

from django.conf import settings
from django.db import migrations

INDICATORS = [
    # code, Danish, English, kind, group, target, direction, source, display order
    (
        "OPS-NO-SHOW",
        "Udeblivelser fra aftaler",
        "Appointments the citizen did not attend",
        "share",
        "",
        10,
        "lt",
        "Centrets egen",
        23,
    ),
    (
        "OPS-COURSE-COMPLETION",
        "Deltagere der har gennemført forløbet",
        "Course participants who completed",
        "share",
        "",
        75,
        "gte",
        "Dansk praksis for patientuddannelse",
        24,
    ),
]


def local(expression: str) -> str:
    return f"(({expression}) AT TIME ZONE '{settings.TIME_ZONE}')::date"


def first_session(course: str) -> str:
    return f"(SELECT {local('min(s.starts_at)')} FROM scheduling_coursesession s WHERE s.course_id = {course})"


# table -> the earliest day a row can affect, written with R for the row (OLD or NEW).
SOURCES = {
    "scheduling_appointment": "LEAST({start}, (SELECT {first} FROM scheduling_coursesession own "
    "JOIN scheduling_coursesession s ON s.course_id = own.course_id WHERE own.id = R.session_id))".format(
        start=local("R.starts_at"), first=local("min(s.starts_at)")
    ),
    "scheduling_coursesession": f"LEAST({local('R.starts_at')}, {first_session('R.course_id')})",
    "scheduling_courseparticipant": first_session("R.course_id"),
    "scheduling_course": first_session("R.id"),
}


def forward_sql() -> str:
    statements = []
    for table, expression in SOURCES.items():
        old, new = expression.replace("R.", "OLD."), expression.replace("R.", "NEW.")
        statements.append(
            f"""
            CREATE OR REPLACE FUNCTION reporting_mark_stale_{table}() RETURNS trigger AS $$
            DECLARE day date; old_day date; new_day date;
            BEGIN
                IF TG_OP IN ('UPDATE', 'DELETE') THEN old_day := {old}; END IF;
                IF TG_OP IN ('INSERT', 'UPDATE') THEN new_day := {new}; END IF;
                day := LEAST(old_day, new_day);
                IF day IS NOT NULL THEN
                    INSERT INTO reporting_staleday (from_day, source, patient_id, at)
                    VALUES (day, TG_TABLE_NAME, NULL, now());
                END IF;
                RETURN NULL;
            END;
            $$ LANGUAGE plpgsql;
            DROP TRIGGER IF EXISTS reporting_mark_stale ON {table};
            CREATE TRIGGER reporting_mark_stale AFTER INSERT OR UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION reporting_mark_stale_{table}();
            """
        )
    statements.append(
        "INSERT INTO reporting_staleday (from_day, source, patient_id, at) VALUES "
        "(DATE '0001-01-01', 'scheduling_appointment', NULL, now()), "
        "(DATE '0001-01-01', 'scheduling_course', NULL, now());"
    )
    return "\n".join(statements)


def reverse_sql() -> str:
    return "\n".join(
        f"DROP TRIGGER IF EXISTS reporting_mark_stale ON {t}; DROP FUNCTION IF EXISTS reporting_mark_stale_{t}();"
        for t in SOURCES
    )


def load(apps, schema_editor):
    Indicator = apps.get_model("reporting", "Indicator")
    for code, da, en, kind, group, target, direction, source, order in INDICATORS:
        Indicator.objects.update_or_create(
            code=code,
            defaults={
                "name_da": da,
                "name_en": en,
                "kind": kind,
                "condition_group": group,
                "target": Decimal(target),
                "direction": direction,
                "source": source,
                "display_order": order,
            },
        )


def unload(apps, schema_editor):
    apps.get_model("reporting", "Indicator").objects.filter(code__in=[i[0] for i in INDICATORS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0011_citizen_month_facts"),
        ("scheduling", "0001_initial"),
    ]
    operations = [
        migrations.RunPython(load, unload),
        migrations.RunSQL(forward_sql(), reverse_sql()),
    ]
