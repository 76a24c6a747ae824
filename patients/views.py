import csv
import datetime
import operator
import uuid
from collections.abc import Callable
from functools import partial

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter import access
from healthcenter.access import citizen_work
from healthcenter.models import AccessAction
from healthcenter.selectors import access_log_for_patient
from healthcenter.spreadsheets import csv_separator, neutralise
from healthcenter.views_helpers import apply_errors

from . import charts, forms, selectors, services
from .history import patient_history

PAGE_SIZE = 25
SEARCH_SESSION_KEY = "patient_search_term"


# --- list and details ------------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def patient_list(request: HttpRequest) -> HttpResponse:
    # Names and CPR numbers never travel in a URL: the search term is posted and kept in the session.
    if request.method == "POST":
        request.session[SEARCH_SESSION_KEY] = request.POST.get("term", "")[:100]
        if not request.htmx:
            return redirect(request.get_full_path())
    data = request.GET.copy()
    data["term"] = request.session.get(SEARCH_SESSION_KEY, "")
    form = forms.PatientSearchForm(data, user=request.user)
    search = selectors.PatientSearch()
    if form.is_valid():
        c = form.cleaned_data
        search = selectors.PatientSearch(
            term=c["term"],
            team_id=c["team"].id if c["team"] else None,
            programme_id=c["programme"].id if c["programme"] else None,
            condition_group=c["condition"],
        )
    paginator = Paginator(selectors.patient_search(request.user, search), PAGE_SIZE)
    page = paginator.get_page(request.GET.get("page"))
    selectors.patient_search_logged(request.user, search, page=page.number)
    filters = request.GET.copy()
    filters.pop("page", None)
    context = {"form": form, "page": page, "filters": filters.urlencode(), "search": search}
    template = "patients/_patient_rows.html" if request.htmx else "patients/patient_list.html"
    return render(request, template, context)


@citizen_work
@require_http_methods(["GET", "POST"])
def patient_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("citizen details form"), action=action)
    initial = {name: getattr(patient, name) for name in forms.PatientForm.base_fields if name != "cpr"}
    initial.update(cpr=patient.cpr_formatted, version=patient.version)
    form = forms.PatientEditForm(request.POST or None, initial=initial, user=request.user)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.patient_update(
                    actor=request.user,
                    patient=patient,
                    expected_version=form.cleaned_data["version"],
                    data=form.to_data(),
                )
            except services.DuplicateCitizen as error:
                # Changing the CPR number to one already registered: logged under that citizen.
                access.rejected(
                    request.user, error.existing_public_id, gettext_noop("CPR number changed to one already registered")
                )
                apply_errors(form, error)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The citizen's details are saved."))
                return redirect("patients:detail", public_id=patient.public_id)
        access.rejected(request.user, patient.public_id, gettext_noop("citizen details form"))
    return render(
        request, "patients/patient_form.html", {"form": form, "patient": patient, "title": _("Edit citizen details")}
    )


# --- the patient page --------------------------------------------------------------------------------


@citizen_work
@require_GET
def patient_detail(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("citizen page"))
    # The record's parts are read only if the template's fragment cache (keyed by this version, the
    # user and the language) does not have them: on a repeated view none of their queries run.
    record_version = selectors.patient_record_version(patient)
    overview = SimpleLazyObject(lambda: selectors.patient_overview(patient))
    context = {
        "patient": patient,
        "record_version": record_version,
        "timeline": SimpleLazyObject(lambda: selectors.patient_timeline(patient, overview=overview)),
        "figures": SimpleLazyObject(
            lambda: charts.patient_trend_figures(
                selectors.measurement_series(patient, selectors.CHARTED_MEASUREMENTS), goals=overview["goals"]
            )
        ),
        "viewers": list(access_log_for_patient(patient_public_id=patient.public_id)[:10]),
        **{name: SimpleLazyObject(partial(operator.getitem, overview, name)) for name in selectors.OVERVIEW_PARTS},
    }
    return render(request, "patients/patient_detail.html", context)


@citizen_work
@require_GET
def patient_timeline_page(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The next page of the timeline, after the encounter named by `after` (htmx)."""
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("citizen timeline, earlier page"))
    try:
        after = uuid.UUID(request.GET.get("after", ""))
    except ValueError:
        raise Http404 from None
    cursor = patient.encounters.filter(public_id=after).first()
    if cursor is None:
        raise Http404
    return render(
        request,
        "patients/_timeline.html",
        {"patient": patient, "timeline": selectors.patient_timeline(patient, after=cursor)},
    )


@citizen_work
@require_GET
def patient_history_view(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("change history"))
    return render(request, "patients/patient_history.html", {"patient": patient, "changes": patient_history(patient)})


@citizen_work
@require_GET
def patient_access_log(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("who viewed this record"))
    page = Paginator(access_log_for_patient(patient_public_id=patient.public_id), 50).get_page(request.GET.get("page"))
    return render(request, "patients/patient_access_log.html", {"patient": patient, "page": page})


# --- encounters ------------------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def encounter_amend(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    encounter = selectors.encounter_for(
        request.user, public_id, what=gettext_noop("encounter amendment"), action=action
    )
    form = forms.AmendmentForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.encounter_amend(actor=request.user, encounter=encounter, text=form.cleaned_data["text"])
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The amendment is saved. The original stays visible."))
                return redirect("patients:detail", public_id=encounter.patient.public_id)
        access.rejected(request.user, encounter.patient.public_id, gettext_noop("encounter amendment"))
    return render(
        request,
        "patients/encounter_amend.html",
        {"form": form, "encounter": encounter, "patient": encounter.patient},
    )


# --- correcting a value of the record ------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def measurement_correct(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    measurement = selectors.measurement_for(
        request.user, public_id, what=gettext_noop("measurement correction"), action=action
    )
    patient = measurement.patient
    form = forms.MeasurementCorrectionForm(request.POST or None, measurement_type=measurement.type)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.measurement_correct(
                    actor=request.user,
                    measurement=measurement,
                    value=form.cleaned_data.get("value"),
                    result=form.cleaned_data.get("result") or "",
                    reason=form.cleaned_data["reason"],
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(
                    request, _("The correction is saved. The original value stays visible, struck through.")
                )
                return redirect("patients:detail", public_id=patient.public_id)
        access.rejected(request.user, patient.public_id, gettext_noop("measurement correction"))
    return render(
        request,
        "patients/measurement_correct.html",
        {"form": form, "measurement": measurement, "patient": patient},
    )


# --- goals -----------------------------------------------------------------------------------------


@citizen_work
@require_http_methods(["GET", "POST"])
def goal_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = selectors.patient_for(request.user, public_id, what=gettext_noop("goal form"), action=action)
    initial = {"review_on": timezone.localdate() + datetime.timedelta(days=90)}
    form = forms.GoalForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.goal_create(actor=request.user, patient=patient, data=form.to_data())
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The goal is saved."))
                return redirect("patients:detail", public_id=patient.public_id)
        access.rejected(request.user, patient.public_id, gettext_noop("goal form"))
    return render(request, "patients/simple_form.html", {"form": form, "patient": patient, "title": _("New goal")})


@citizen_work
@require_http_methods(["GET", "POST"])
def goal_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    goal = selectors.goal_for(request.user, public_id, what=gettext_noop("goal form"), action=action)
    initial = {name: getattr(goal, name) for name in forms.GoalForm.base_fields}
    initial["version"] = goal.version
    form = forms.GoalEditForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if form.is_valid():
            try:
                services.goal_update(
                    actor=request.user, goal=goal, expected_version=form.cleaned_data["version"], data=form.to_data()
                )
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, _("The goal is saved."))
                return redirect("patients:detail", public_id=goal.patient.public_id)
        access.rejected(request.user, goal.patient.public_id, gettext_noop("goal form"))
    return render(
        request, "patients/simple_form.html", {"form": form, "patient": goal.patient, "title": _("Edit goal")}
    )


# --- the smaller records: one pattern for all of them ----------------------------------------------------


def _record_form(
    request: HttpRequest,
    *,
    patient,
    form_class,
    save: Callable[[dict], object],
    what: str,
    title: str,
    done: str,
) -> HttpResponse:
    form = form_class(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                save(form.cleaned_data)
            except ValidationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, done)
                return redirect("patients:detail", public_id=patient.public_id)
        access.rejected(request.user, patient.public_id, what)
    return render(request, "patients/simple_form.html", {"form": form, "patient": patient, "title": title})


def _patient_for_form(request: HttpRequest, public_id: uuid.UUID, what: str):
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    return selectors.patient_for(request.user, public_id, what=what, action=action)


@citizen_work
@require_http_methods(["GET", "POST"])
def relative_add(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = _patient_for_form(request, public_id, "relative form")
    return _record_form(
        request,
        patient=patient,
        form_class=forms.RelativeForm,
        save=lambda c: services.relative_add(actor=request.user, patient=patient, **c),
        what=gettext_noop("relative form"),
        title=_("Add relative"),
        done=_("The relative is added."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def consent_give(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = _patient_for_form(request, public_id, "consent form")
    return _record_form(
        request,
        patient=patient,
        form_class=forms.ConsentForm,
        save=lambda c: services.consent_give(actor=request.user, patient=patient, **c),
        what=gettext_noop("consent form"),
        title=_("Record consent"),
        done=_("The consent is recorded."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def consent_withdraw(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    consent = selectors.consent_for(request.user, public_id, what=gettext_noop("withdraw consent"), action=action)
    return _record_form(
        request,
        patient=consent.patient,
        form_class=forms.ConsentWithdrawForm,
        save=lambda c: services.consent_withdraw(actor=request.user, consent=consent, **c),
        what=gettext_noop("withdraw consent"),
        title=_("Withdraw consent: %(kind)s") % {"kind": consent.get_kind_display()},
        done=_("The consent is withdrawn."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def condition_add(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = _patient_for_form(request, public_id, "condition form")
    return _record_form(
        request,
        patient=patient,
        form_class=forms.ConditionForm,
        save=lambda c: services.condition_add(actor=request.user, patient=patient, **c),
        what=gettext_noop("condition form"),
        title=_("Add condition"),
        done=_("The condition is added."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def enrolment_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = _patient_for_form(request, public_id, "enrolment form")
    return _record_form(
        request,
        patient=patient,
        form_class=forms.EnrolmentForm,
        save=lambda c: services.enrolment_create(actor=request.user, patient=patient, **c),
        what=gettext_noop("enrolment form"),
        title=_("Enrol in programme"),
        done=_("The citizen is enrolled."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def enrolment_end(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    enrolment = selectors.enrolment_for(request.user, public_id, what=gettext_noop("end enrolment"), action=action)
    return _record_form(
        request,
        patient=enrolment.patient,
        form_class=forms.EnrolmentEndForm,
        save=lambda c: services.enrolment_end(actor=request.user, enrolment=enrolment, **c),
        what=gettext_noop("end enrolment"),
        title=_("End enrolment: %(programme)s") % {"programme": enrolment.programme.name},
        done=_("The enrolment has ended."),
    )


@citizen_work
@require_http_methods(["GET", "POST"])
def measurement_add(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    patient = _patient_for_form(request, public_id, "measurement form")

    def save(c):
        reading = services.MeasurementInput(type=c["type"], value=c["value"], result=c["result"] or "")
        return services.measurement_record(
            actor=request.user, patient=patient, measurement=reading, measured_at=c["measured_at"]
        )

    return _record_form(
        request,
        patient=patient,
        form_class=forms.MeasurementForm,
        save=save,
        what=gettext_noop("measurement form"),
        title=_("Record measurement"),
        done=_("The measurement is recorded."),
    )


# --- GDPR art. 15 ------------------------------------------------------------------------------------


@access.access_log_export_work
@require_http_methods(["GET", "POST"])
def access_log_export(request: HttpRequest) -> HttpResponse:
    """An administrator exports one citizen's access log as CSV. The CPR number is posted, never
    put in a URL, and the export itself is logged (also when nobody has the number)."""
    form = forms.AccessLogExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        patient = selectors.citizen_for_access_log_export(request.user, form.cleaned_data["cpr"])
        if patient is None:
            form.add_error("cpr", _("No citizen with this CPR number is registered."))
        else:
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
            response["Content-Disposition"] = f'attachment; filename="access-log-{patient.public_id}-{stamp}.csv"'
            # Like the figures' exports: a byte-order mark and, where the decimal separator is a comma (Danish),
            # semicolons, so that a spreadsheet opens it in columns with æ, ø and å intact.
            response.write("\ufeff")
            writer = csv.writer(response, delimiter=csv_separator())
            writer.writerow([_("When"), _("Username"), _("Name"), _("Role"), _("Action"), _("What"), _("Outcome")])
            for entry in access_log_for_patient(patient_public_id=patient.public_id).iterator(chunk_size=2000):
                # Names and logged texts are typed by people: none may run as a formula in a spreadsheet.
                writer.writerow(
                    neutralise(cell)
                    for cell in [
                        timezone.localtime(entry.at).isoformat(),
                        entry.user.username,
                        entry.user.get_full_name(),
                        entry.get_role_display(),
                        entry.get_action_display(),
                        _(entry.what),
                        entry.get_outcome_display(),
                    ]
                )
            return response
    return render(request, "patients/access_log_export.html", {"form": form})
