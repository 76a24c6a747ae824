"""The rollups' stale marks of the measurement table (reporting migration 0013): statement triggers with
transition tables, one mark per citizen with the earliest local day the statement's rows (old and new)
can affect, which is what the incremental run reads of the row marks they replace (the earliest day per
citizen)."""

import datetime
import zoneinfo

import pytest

from patients.models import Measurement, MeasurementType
from reporting.models import StaleDay

from .factories import PatientFactory

COPENHAGEN = zoneinfo.ZoneInfo("Europe/Copenhagen")


def at(day: int, hour: int = 0, minute: int = 30) -> datetime.datetime:
    # 00:30 local time is the day before in UTC: the mark is the local day.
    return datetime.datetime(2025, 3, day, hour, minute, tzinfo=COPENHAGEN)


def marks() -> set[tuple[int, datetime.date]]:
    found = set(StaleDay.objects.filter(source="patients_measurement").values_list("patient_id", "from_day"))
    StaleDay.objects.all().delete()
    return found


@pytest.mark.django_db
def test_one_mark_per_citizen_with_the_earliest_day_of_a_statement(team):
    a, b = PatientFactory(team=team), PatientFactory(team=team)
    hba1c = MeasurementType.objects.get(code="hba1c")
    StaleDay.objects.all().delete()
    Measurement.objects.bulk_create(
        [
            Measurement(patient=a, type=hba1c, value=50, measured_at=at(12)),
            Measurement(patient=a, type=hba1c, value=51, measured_at=at(3)),
            Measurement(patient=b, type=hba1c, value=52, measured_at=at(20)),
        ]
    )
    assert StaleDay.objects.filter(source="patients_measurement").count() == 2
    assert marks() == {(a.id, datetime.date(2025, 3, 3)), (b.id, datetime.date(2025, 3, 20))}

    # An update: the earlier of the old and the new day.
    Measurement.objects.filter(patient=b).update(measured_at=at(25))
    assert marks() == {(b.id, datetime.date(2025, 3, 20))}
    Measurement.objects.filter(patient=b).update(measured_at=at(7))
    assert marks() == {(b.id, datetime.date(2025, 3, 7))}

    # A value moved to another citizen: each from their own day.
    Measurement.objects.filter(patient=a, value=51).update(patient=b, measured_at=at(9))
    assert marks() == {(a.id, datetime.date(2025, 3, 3)), (b.id, datetime.date(2025, 3, 9))}

    # A delete: the old day; a statement that touches nothing marks nothing.
    Measurement.objects.filter(patient=a).delete()
    assert marks() == {(a.id, datetime.date(2025, 3, 12))}
    Measurement.objects.filter(patient=a).update(value=60)
    Measurement.objects.filter(patient=a).delete()
    assert marks() == set()
