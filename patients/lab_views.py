"""Laboratory results in, from the browser (issue 12): the upload page, the import's page (its progress,
polled with htmx while the job runs, then its result) and the error report as CSV.

Importing a laboratory's file is an administrative job for the whole centre, not work on one
citizen's record: it is the coordinators' (Work.TRIAGE, the coordinator-only work, as registering
referrals), and every other role gets 404. The file touches citizens of every team, so no care
relation is asked for; every citizen who got a value has an access-log row (patients.labimport.run)."""

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter.access import Work, requires
from healthcenter.models import AccessAction

from . import labimport, selectors
from .models import LabImport, LabImportFormat, LabImportStatus

FIRST_ERRORS = 50


class LabImportForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("File"))
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=LabImportFormat.choices,
        initial=LabImportFormat.CSV,
        widget=forms.Select(attrs={"class": "form-select"}),
    )


def _lab_import(import_id) -> LabImport:
    lab_import = LabImport.objects.select_related("uploaded_by").filter(public_id=import_id).first()
    if lab_import is None:
        raise Http404
    return lab_import


def _lab_import_read(request: HttpRequest, import_id, *, what: str, action: AccessAction) -> LabImport:
    """The import, its read logged (the result names citizens' CPR numbers in rejected rows)."""
    return selectors.lab_import_for(request.user, import_id, what=what, action=action)


@requires(Work.TRIAGE)
@require_http_methods(["GET", "POST"])
def lab_import_upload(request: HttpRequest) -> HttpResponse:
    form = LabImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        lab_import = labimport.lab_import_start(
            actor=request.user,
            file_name=upload.name,
            content=upload.chunks(),
            file_format=form.cleaned_data["format"],
        )
        return redirect("patients:lab_import_detail", import_id=lab_import.public_id)
    recent = LabImport.objects.select_related("uploaded_by")[:20]
    return render(request, "patients/lab_import_upload.html", {"form": form, "recent": recent})


def _context(lab_import: LabImport) -> dict:
    running = lab_import.status in (LabImportStatus.QUEUED, LabImportStatus.RUNNING)
    errors = [] if running else list(lab_import.errors.order_by("row")[:FIRST_ERRORS])
    for error in errors:
        error.reason_text = labimport.REASONS.get(error.reason, error.reason)
    return {"lab_import": lab_import, "running": running, "errors": errors, "first_errors": FIRST_ERRORS}


@requires(Work.TRIAGE)
@require_GET
def lab_import_detail(request: HttpRequest, import_id) -> HttpResponse:
    lab_import = _lab_import_read(request, import_id, what=gettext_noop("Laboratory import"), action=AccessAction.VIEW)
    return render(request, "patients/lab_import_detail.html", _context(lab_import))


@requires(Work.TRIAGE)
@require_GET
def lab_import_progress(request: HttpRequest, import_id) -> HttpResponse:
    """The htmx fragment the import's page polls while the job runs; the result once it is done."""
    return render(request, "patients/lab_import_progress.html", _context(_lab_import(import_id)))


@requires(Work.TRIAGE)
@require_GET
def lab_import_report(request: HttpRequest, import_id) -> HttpResponse:
    lab_import = _lab_import_read(
        request, import_id, what=gettext_noop("Laboratory import error report"), action=AccessAction.EXPORT
    )
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="lab-import-errors-{lab_import.public_id}-{stamp}.csv"'
    labimport.report_csv(lab_import, response)
    return response
