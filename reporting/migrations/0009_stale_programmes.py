"""A programme's target group decides who is counted in every month: any change to a programme
marks every kept month stale (see 0007_stale_triggers)."""

from django.db import migrations

SQL = """
CREATE OR REPLACE FUNCTION reporting_mark_stale_patients_programme() RETURNS trigger AS $$
BEGIN
    INSERT INTO reporting_staleday (from_day, source, at) VALUES (DATE '0001-01-01', TG_TABLE_NAME, now());
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS reporting_mark_stale ON patients_programme;
CREATE TRIGGER reporting_mark_stale AFTER INSERT OR UPDATE OR DELETE ON patients_programme
    FOR EACH STATEMENT EXECUTE FUNCTION reporting_mark_stale_patients_programme();
"""

REVERSE = """
DROP TRIGGER IF EXISTS reporting_mark_stale ON patients_programme;
DROP FUNCTION IF EXISTS reporting_mark_stale_patients_programme();
"""


class Migration(migrations.Migration):
    dependencies = [("reporting", "0008_monthly_activity")]
    operations = [migrations.RunSQL(SQL, REVERSE)]
