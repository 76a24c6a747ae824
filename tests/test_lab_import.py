"""Laboratory results in (issue 12): patients.labimport, its job, its pages and its command."""

import datetime
import io
import json
from decimal import Decimal

import pandas as pd
import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap
from healthcenter.models import AccessLog
from healthcenter.outbox.models import Job
from healthcenter.outbox.services import job_run
from patients import labimport
from patients.cpr import parse_cpr
from patients.history import LABELS
from patients.models import LabImport, LabImportError, Measurement, MeasurementType
from reporting.models import StaleDay

from .conftest import client_for
from .factories import ConditionFactory, PatientFactory
from .test_caregaps import enrolled

HEADER = "cpr,code,value,unit,sampled_at\n"


def yesterday(hour: int = 9) -> str:
    day = timezone.localdate() - datetime.timedelta(days=1)
    return f"{day:%Y-%m-%d}T{hour:02d}:00:00"


@pytest.fixture
def citizen(team, member):
    return PatientFactory(team=team, responsible_professional=member, cpr="0101704321")


def run_file(tmp_path, actor, text: str, file_format: str = "csv", name: str = "lab.csv", **kwargs):
    lab_import = labimport.lab_import_create(
        actor=actor, file_name=name, content=iter([text.encode()]), file_format=file_format
    )
    outcome = labimport.run(lab_import, **kwargs)
    lab_import.refresh_from_db()
    return lab_import, outcome


@pytest.fixture(autouse=True)
def _files_in_tmp(settings, tmp_path):
    settings.LAB_IMPORT_DIR = tmp_path / "lab-imports"


def reasons(lab_import) -> dict[int, str]:
    return dict(LabImportError.objects.filter(lab_import=lab_import).values_list("row", "reason"))


@pytest.mark.django_db
class TestRows:
    def test_a_good_row_is_added_as_a_lab_value(self, tmp_path, coordinator, citizen):
        lab_import, outcome = run_file(
            tmp_path, coordinator, HEADER + f"010170-4321,59261-8,52,mmol/mol,{yesterday()}\n"
        )
        assert (outcome.read, outcome.loaded, outcome.rejected) == (1, 1, 0)
        value = Measurement.objects.get(patient=citizen)
        assert (value.type.code, value.value, value.source, value.recorded_by) == (
            "hba1c",
            Decimal(52),
            "lab",
            coordinator,
        )
        assert timezone.localtime(value.measured_at).hour == 9  # local Copenhagen time without an offset
        assert lab_import.status == "done"
        event = Measurement.pgh_event_model.objects.select_related("pgh_context").get(pgh_obj_id=value.pk)
        assert event.pgh_context.metadata == {"lab_import": str(lab_import.public_id), "user": coordinator.id}

    def test_each_bad_row_kind_is_reported_with_its_reason_and_good_rows_are_kept(self, tmp_path, coordinator, citizen):
        future = (timezone.now() + datetime.timedelta(days=2)).isoformat()
        rows = [
            f"0101704321,59261-8,52,mmol/mol,{yesterday()}",  # 2 good
            f"0101709999,59261-8,52,mmol/mol,{yesterday()}",  # 3 unknown citizen
            f"3213704321,59261-8,52,mmol/mol,{yesterday()}",  # 4 date part
            f"01017043,59261-8,52,mmol/mol,{yesterday()}",  # 5 not ten digits
            f"0101704321,8302-2,170,cm,{yesterday()}",  # 6 a catalogue code that is not a lab result
            f"0101704321,59261-8,52,mg/dl,{yesterday()}",  # 7 wrong unit
            f"0101704321,59261-8,520,mmol/mol,{yesterday()}",  # 8 implausible
            f"0101704321,59261-8,52,mmol/mol,{future}",  # 9 future
            "0101704321,59261-8,52",  # 10 too few columns
            f"0101704321,59261-8,52,mmol/mol,{yesterday()},extra",  # 11 too many
            f"0101704321,59261-8,femtito,mmol/mol,{yesterday()}",  # 12 not a number
            "0101704321,59261-8,52,mmol/mol,i går",  # 13 time
            f'0101704321,NPU01568,"3,4",mmol/L,{yesterday(10)}',  # 14 good: NPU code, decimal comma
        ]
        lab_import, outcome = run_file(tmp_path, coordinator, HEADER + "\n".join(rows) + "\n")
        assert reasons(lab_import) == {
            3: "cpr_unknown",
            4: "cpr_date",
            5: "cpr_format",
            6: "code_unknown",
            7: "unit_wrong",
            8: "implausible",
            9: "time_future",
            10: "malformed",
            11: "malformed",
            12: "value_format",
            13: "time_format",
        }
        assert (outcome.read, outcome.loaded, outcome.rejected) == (13, 2, 11)
        assert sorted(Measurement.objects.filter(patient=citizen).values_list("type__code", "value")) == [
            ("hba1c", Decimal(52)),
            ("ldl", Decimal("3.4")),
        ]
        assert (lab_import.rows_read, lab_import.rows_loaded, lab_import.rows_rejected) == (13, 2, 11)

    def test_percent_is_converted_to_mmol_per_mol_by_the_ifcc_formula(self, tmp_path, coordinator, citizen):
        # (7.0 - 2.15) * 10.929 = 53.0; (8.5 - 2.15) * 10.929 = 69.4 -> 69; (6.0 - 2.15) * 10.929 = 42.08 -> 42
        text = HEADER + "".join(
            f"0101704321,{code},{percent},%,{yesterday(hour)}\n"
            for code, percent, hour in [("NPU03835", "7.0", 8), ("4548-4", '"8,5"', 9), ("59261-8", "6.0", 10)]
        )
        run_file(tmp_path, coordinator, text)
        assert sorted(Measurement.objects.filter(patient=citizen).values_list("value", flat=True)) == [42, 53, 69]
        assert labimport.hba1c_percent_to_mmol_per_mol([5.0, 10.0]).tolist() == [31.0, 86.0]

    def test_a_percent_that_is_implausible_once_converted_is_refused(self, tmp_path, coordinator, citizen):
        lab_import, _ = run_file(tmp_path, coordinator, HEADER + f"0101704321,NPU03835,30,%,{yesterday()}\n")
        assert reasons(lab_import) == {2: "implausible"}

    def test_times_with_an_offset_and_in_utc(self, tmp_path, coordinator, citizen):
        run_file(
            tmp_path,
            coordinator,
            HEADER
            + "0101704321,59261-8,50,mmol/mol,2025-01-01T10:00:00+01:00\n"
            + "0101704321,59261-8,51,mmol/mol,2025-01-01T10:00:00Z\n",
        )
        got = sorted(Measurement.objects.filter(patient=citizen).values_list("measured_at", flat=True))
        assert got == [
            datetime.datetime(2025, 1, 1, 9, tzinfo=datetime.UTC),
            datetime.datetime(2025, 1, 1, 10, tzinfo=datetime.UTC),
        ]

    def test_a_date_alone_is_local_midnight(self, tmp_path, coordinator, citizen):
        run_file(tmp_path, coordinator, HEADER + "0101704321,59261-8,50,mmol/mol,2025-06-01\n")
        measured = timezone.localtime(Measurement.objects.get(patient=citizen).measured_at)
        assert (measured.date(), measured.hour) == (datetime.date(2025, 6, 1), 0)

    def test_a_local_time_in_the_autumn_clock_change_is_refused(self, tmp_path, coordinator, citizen):
        lab_import, _ = run_file(tmp_path, coordinator, HEADER + "0101704321,59261-8,50,mmol/mol,2025-10-26 02:30\n")
        assert reasons(lab_import) == {2: "time_ambiguous"}

    def test_a_local_time_in_the_spring_clock_change_gap_is_refused(self, tmp_path, coordinator, citizen):
        lab_import, _ = run_file(tmp_path, coordinator, HEADER + "0101704321,59261-8,50,mmol/mol,2025-03-30 02:30\n")
        assert reasons(lab_import) == {2: "time_ambiguous"}

    def test_a_semicolon_file_from_a_danish_spreadsheet(self, tmp_path, coordinator, citizen):
        run_file(
            tmp_path,
            coordinator,
            "\ufeffCPR;Code;Value;Unit;Sampled_at\n" + f"0101704321;9318-7;2,5;mg/mmol;{yesterday()}\n",
        )
        assert Measurement.objects.get(patient=citizen).value == Decimal("2.5")

    def test_a_file_without_the_columns_fails_with_a_reason(self, tmp_path, coordinator):
        with pytest.raises(ValueError):
            run_file(tmp_path, coordinator, "a,b\n1,2\n")
        assert LabImport.objects.get().status == "failed"


@pytest.mark.django_db
class TestAgain:
    def test_the_same_file_twice_adds_nothing(self, tmp_path, coordinator, citizen):
        text = HEADER + f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n0101704321,NPU01568,3.1,mmol/L,{yesterday()}\n"
        run_file(tmp_path, coordinator, text)
        second, outcome = run_file(tmp_path, coordinator, text)
        assert Measurement.objects.filter(patient=citizen).count() == 2
        assert (outcome.loaded, outcome.known) == (0, 2)
        assert (second.rows_loaded, second.rows_known) == (0, 2)

    def test_a_killed_import_run_again_adds_every_row_exactly_once(self, tmp_path, coordinator, citizen, monkeypatch):
        text = HEADER + "".join(f"0101704321,59261-8,{40 + i},mmol/mol,{yesterday(i)}\n" for i in range(6))
        lab_import = labimport.lab_import_create(
            actor=coordinator, file_name="lab.csv", content=iter([text.encode()]), file_format="csv"
        )
        merged = labimport.load_rows
        calls = []

        def dies_on_the_second_chunk(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise ConnectionError("the worker was killed")
            return merged(*args, **kwargs)

        monkeypatch.setattr(labimport, "load_rows", dies_on_the_second_chunk)
        with pytest.raises(ConnectionError):
            labimport.run(lab_import, chunk_rows=3)
        lab_import.refresh_from_db()
        assert lab_import.status == "failed"
        assert Measurement.objects.filter(patient=citizen).count() == 3  # the first chunk was committed
        monkeypatch.setattr(labimport, "load_rows", merged)
        outcome = labimport.run(lab_import, chunk_rows=3)
        values = list(Measurement.objects.filter(patient=citizen).values_list("value", flat=True))
        assert sorted(values) == [40, 41, 42, 43, 44, 45]
        assert (outcome.loaded, outcome.known) == (3, 3)

    def test_duplicates_within_one_file_are_one_value(self, tmp_path, coordinator, citizen):
        line = f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n"
        run_file(tmp_path, coordinator, HEADER + line + line)
        assert Measurement.objects.filter(patient=citizen).count() == 1


@pytest.mark.django_db
def test_fhir_bundle_of_observations(tmp_path, coordinator, citizen):
    def observation(code, value, unit, cpr="0101704321"):
        return {
            "resource": {
                "resourceType": "Observation",
                "status": "final",
                "subject": {"identifier": {"system": "urn:oid:1.2.208.176.1.2", "value": cpr}},
                "code": {"coding": [{"system": "urn:oid:1.2.208.176.2.1", "code": code}]},
                "valueQuantity": {"value": value, "unit": unit},
                "effectiveDateTime": "2025-03-01T08:30:00+01:00",
            }
        }

    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            observation("NPU27300", 48, "mmol/mol"),
            observation("9318-7", 3.5, "mg/mmol"),
            observation("NPU03835", 7.0, "%"),
            observation("59261-8", 48, "mmol/mol", cpr="0101709999"),
            {"resource": {"resourceType": "Patient"}},
        ],
    }
    from fhir.resources.R4B.bundle import Bundle

    Bundle.model_validate({**bundle, "entry": bundle["entry"][:4]})  # a valid R4B Bundle but for the Patient
    lab_import, _outcome = run_file(tmp_path, coordinator, json.dumps(bundle), file_format="fhir", name="lab.json")
    assert sorted(Measurement.objects.filter(patient=citizen).values_list("type__code", "value")) == [
        ("hba1c", Decimal(48)),
        ("hba1c", Decimal(53)),
        ("urine_acr", Decimal("3.5")),
    ]
    assert reasons(lab_import) == {4: "cpr_unknown", 5: "malformed"}


@pytest.mark.parametrize(
    "raw",
    [
        "0101704321",
        "010170-4321",
        "3102704321",
        "2902004321",
        "2902004021",
        "0101584321",
        "0101585321",
        "3112375021",
        "010170432",
        "01017a4321",
        "",
        "0101 70-4321",
        "3113704321",
        "0000000000",
        "0101996321",
        "2902964321",
        "2902974321",
        f"{timezone.localdate():%d%m%y}4000",
        "31129995 21",
    ],
)
def test_the_vectorised_cpr_check_agrees_with_patients_cpr(raw):
    digits, reason = labimport.cpr_checks(pd.Series([raw]))
    try:
        facts = parse_cpr(raw)
    except ValidationError as error:
        assert reason[0] == {"cpr_future": "cpr_date"}.get(error.code, error.code)
    else:
        assert (reason[0], digits[0]) == ("", facts.number)


@pytest.mark.django_db
def test_a_gap_closes_and_the_rollups_are_marked_stale_after_an_import(tmp_path, coordinator, team, member):
    diabetic = PatientFactory(team=team, responsible_professional=member, cpr="0202604321")
    ConditionFactory(patient=diabetic, kind="dm2")
    enrolled(diabetic)
    evaluate_care_gaps()
    gap = CareGap.objects.get(patient=diabetic, rule__code="hba1c-12m", closed_at__isnull=True)
    StaleDay.objects.all().delete()
    from coordination.models import CareGapChange

    CareGapChange.objects.all().delete()
    run_file(tmp_path, coordinator, HEADER + f"0202604321,NPU27300,58,mmol/mol,{yesterday()}\n")
    # The statement triggers mark the citizen for the care-gap job and the rollups stale.
    assert CareGapChange.objects.filter(patient_id=diabetic.id).exists()
    assert StaleDay.objects.filter(source="patients_measurement", patient_id=diabetic.id).exists()
    evaluate_care_gaps()  # the job: the citizens whose data changed
    gap.refresh_from_db()
    assert gap.closed_at is not None


@pytest.mark.django_db
def test_every_citizen_who_got_a_value_has_an_access_log_row(tmp_path, coordinator, citizen):
    run_file(tmp_path, coordinator, HEADER + f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n")
    assert AccessLog.objects.filter(user=coordinator, patient_public_id=citizen.public_id, action="create").count() == 1
    assert (
        AccessLog.objects.filter(
            user=coordinator, patient_public_id__isnull=True, what__startswith="Laboratory file"
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_every_imported_value_has_exactly_one_insert_event_with_the_imports_context(
    tmp_path, coordinator, citizen, team, member, monkeypatch
):
    """The merge skips pghistory's row trigger and writes the events itself, set-based: one insert event
    per added value, a copy of the row as the trigger writes it, naming the import and its user; none for
    a value that was already there; and the row trigger still fires for other writes afterwards."""
    other = PatientFactory(team=team, responsible_professional=member, cpr="0202604321")
    monkeypatch.setattr(labimport, "MERGE_ROWS", 2)  # several merges, each with its own events
    text = HEADER + "".join(
        f"{cpr},59261-8,{40 + i},mmol/mol,{yesterday(i)}\n" for cpr in ("0101704321", "0202604321") for i in range(3)
    )
    first, _outcome = run_file(tmp_path, coordinator, text)
    second, outcome = run_file(tmp_path, coordinator, text + f"0101704321,NPU01568,3.1,mmol/L,{yesterday()}\n")
    assert (outcome.loaded, outcome.known) == (1, 6)
    values = Measurement.objects.filter(patient__in=[citizen, other])
    assert values.count() == 7
    Event = Measurement.pgh_event_model
    events = Event.objects.filter(pgh_obj_id__in=values.values("pk")).select_related("pgh_context")
    assert events.count() == 7
    tracked = [f.attname for f in Event._meta.concrete_fields if not f.name.startswith("pgh_")]
    for value in values:
        (event,) = [e for e in events if e.pgh_obj_id == value.pk]
        assert event.pgh_label == "insert"
        assert {name: getattr(event, name) for name in tracked} == {name: getattr(value, name) for name in tracked}
        lab_import = second if value.type.code == "ldl" else first
        assert event.pgh_context_id == lab_import.public_id
        assert event.pgh_context.metadata == {"lab_import": str(lab_import.public_id), "user": coordinator.id}
        assert event.pgh_created_at == value.recorded_at  # the transaction's time, as the trigger's now()
    # Outside the merge the row trigger writes the history as before.
    by_hand = Measurement.objects.create(
        patient=citizen, type=MeasurementType.objects.get(code="hba1c"), value=50, measured_at=timezone.now()
    )
    assert Event.objects.filter(pgh_obj_id=by_hand.pk, pgh_label="insert").count() == 1


@pytest.mark.django_db
def test_the_change_history_page_shows_an_imported_value(tmp_path, coordinator, citizen, member):
    run_file(tmp_path, coordinator, HEADER + f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n")
    response = client_for(member).get(reverse("patients:history", args=[citizen.public_id]))
    assert response.status_code == 200
    (change,) = [c for c in response.context["changes"] if c.record == str(Measurement._meta.verbose_name)]
    assert change.who == str(coordinator)
    assert change.label == str(LABELS["insert"])
    assert "52 mmol/mol" in [after for _label, _before, after in change.fields]


@pytest.mark.django_db
class TestBrowser:
    def test_upload_job_progress_result_and_report(self, tmp_path, coordinator, citizen):
        client = client_for(coordinator)
        assert client.get(reverse("patients:lab_import")).status_code == 200
        text = (
            HEADER
            + f'0101704321,59261-8,52,mmol/mol,{yesterday()}\n=HYPERLINK("x"),59261-8,52,mmol/mol,{yesterday()}\n'
        )
        upload = io.BytesIO(text.encode())
        upload.name = "svar.csv"
        response = client.post(reverse("patients:lab_import"), {"file": upload, "format": "csv"})
        lab_import = LabImport.objects.get()
        assert response.status_code == 302
        assert response["Location"] == reverse("patients:lab_import_detail", args=[lab_import.public_id])
        page = client.get(response["Location"])
        assert b"every 2s" in page.content  # the page polls while the job waits
        job = Job.objects.get(task="patients.tasks.run_lab_import")
        assert job.kwargs == {"lab_import_id": lab_import.pk}
        assert job_run(job_id=job.pk) is True
        fragment = client.get(reverse("patients:lab_import_progress", args=[lab_import.public_id]))
        assert b"every 2s" not in fragment.content
        assert b'data-count="loaded">1<' in fragment.content
        assert b'data-count="rejected">1<' in fragment.content
        assert Measurement.objects.filter(patient=citizen, source="lab").count() == 1
        report = client.get(reverse("patients:lab_import_report", args=[lab_import.public_id]))
        body = report.content.decode("utf-8-sig")
        assert "'=HYPERLINK" in body  # neutralised for spreadsheets
        assert "3;" in body and "CPR-nummer" in body  # row 3, the reason in Danish

    def test_a_job_run_twice_does_nothing_the_second_time(self, tmp_path, coordinator, citizen):
        lab_import = labimport.lab_import_start(
            actor=coordinator,
            file_name="a.csv",
            content=iter([(HEADER + f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n").encode()]),
            file_format="csv",
        )
        from patients.tasks import run_lab_import

        assert run_lab_import(lab_import.pk)["loaded"] == 1
        assert run_lab_import(lab_import.pk) == {}

    def test_an_unreadable_file_fails_once_without_the_job_failing(self, tmp_path, coordinator):
        from patients.tasks import run_lab_import

        lab_import = labimport.lab_import_start(
            actor=coordinator, file_name="a.json", content=iter([b"not json"]), file_format="fhir"
        )
        assert run_lab_import(lab_import.pk) == {"failed": True}
        lab_import.refresh_from_db()
        assert lab_import.status == "failed"
        assert lab_import.failure.startswith("JSONDecodeError")

    @pytest.mark.parametrize("persona", ["member", "colleague", "outsider", "manager", "administrator"])
    def test_only_coordinators_import(self, request, persona, coordinator):
        user = request.getfixturevalue(persona)
        lab_import = LabImport.objects.create(uploaded_by=coordinator, file_name="x.csv", stored_as="", format="csv")
        client = client_for(user)
        for url in [
            reverse("patients:lab_import"),
            reverse("patients:lab_import_detail", args=[lab_import.public_id]),
            reverse("patients:lab_import_progress", args=[lab_import.public_id]),
            reverse("patients:lab_import_report", args=[lab_import.public_id]),
        ]:
            assert client.get(url).status_code == 404
        assert client.post(reverse("patients:lab_import"), {}).status_code == 404
        assert AccessLog.objects.filter(user=user, outcome="denied").count() == 5

    def test_an_unknown_import_is_404_for_a_coordinator(self, coordinator):
        import uuid

        response = client_for(coordinator).get(reverse("patients:lab_import_detail", args=[uuid.uuid4()]))
        assert response.status_code == 404


@pytest.mark.django_db
def test_the_command_with_its_progress_bar(tmp_path, coordinator, citizen):
    path = tmp_path / "lab.csv"
    path.write_text(
        HEADER + f"0101704321,59261-8,52,mmol/mol,{yesterday()}\n0101709999,59261-8,52,mmol/mol,{yesterday()}\n"
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_lab_results", str(path), "--user", coordinator.username, stdout=out, stderr=err)
    assert "2 rows read, 1 added, 0 already there, 1 rejected" in out.getvalue()
    assert "rows" in err.getvalue()  # tqdm's bar
    assert Measurement.objects.filter(patient=citizen, source="lab").count() == 1


@pytest.mark.django_db
def test_the_command_refuses_a_professional(tmp_path, member):
    from django.core.management.base import CommandError

    path = tmp_path / "lab.csv"
    path.write_text(HEADER)
    with pytest.raises(CommandError):
        call_command("import_lab_results", str(path), "--user", member.username)


@pytest.mark.django_db
def test_the_catalogue_is_the_code_map(tmp_path):
    catalogue = labimport.Catalogue.load()
    hba1c = MeasurementType.objects.get(code="hba1c")
    assert catalogue.type_of_code[hba1c.coding_code] == hba1c.id
    hba1c.coding_code = "99999-9"
    hba1c.save()
    assert labimport.Catalogue.load().type_of_code.get("99999-9") == hba1c.id


@pytest.mark.django_db
class TestOneBadRowNeverSinksTheFile:
    """Found in review: each of these failed the whole file (and the job was handed on again)."""

    def test_a_nul_character_in_a_cell_is_one_malformed_row(self, tmp_path, coordinator, citizen):
        text = (
            HEADER
            + f"010170-4321,59261-8,52,mmol/mol,{yesterday()}\n"
            + f"010170-4321,59261-8,5\x003,mmol/mol,{yesterday(10)}\n"
        )
        lab_import, outcome = run_file(tmp_path, coordinator, text)
        assert (outcome.loaded, outcome.rejected) == (1, 1)
        assert reasons(lab_import) == {3: "malformed"}
        assert LabImportError.objects.get(lab_import=lab_import).value == "5\ufffd3"

    @pytest.mark.parametrize("sampled_at", ["9999-12-31T10:00", "0001-01-01T00:00:00+01:00", "2262-04-12T00:00"])
    def test_a_sample_time_no_calendar_of_pandas_holds_is_an_unreadable_time(
        self, tmp_path, coordinator, citizen, sampled_at
    ):
        text = (
            HEADER
            + f"010170-4321,59261-8,52,mmol/mol,{yesterday()}\n"
            + f"010170-4321,59261-8,53,mmol/mol,{sampled_at}\n"
        )
        lab_import, outcome = run_file(tmp_path, coordinator, text)
        assert (outcome.loaded, outcome.rejected) == (1, 1)
        assert reasons(lab_import) == {3: "time_format"}

    def test_a_bundle_entry_that_is_no_object_is_one_malformed_row(self, tmp_path, coordinator, citizen):
        bundle = {"resourceType": "Bundle", "type": "collection", "entry": [1, "x", None, {"resource": 5}]}
        lab_import, outcome = run_file(tmp_path, coordinator, json.dumps(bundle), file_format="fhir", name="lab.json")
        assert outcome.rejected == 4
        assert set(reasons(lab_import).values()) == {"malformed"}
