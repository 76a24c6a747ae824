import csv
import datetime
import io
import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter.models import AccessAction, Role
from healthcenter.views_helpers import apply_errors
from patients import selectors as patient_selectors
from patients.models import ConditionGroup, Measurement
from patients.views import citizen_work

from . import dashboard as board
from . import forms, stories
from .models import Story, StoryStatus
from .selectors import centre_overview, encounters_per_professional


def manager_only(view):
    """Managers (and coordinators, who balance the team) see aggregates; nobody else reaches them."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if request.user.role not in (Role.MANAGER, Role.COORDINATOR):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


def _period(request: HttpRequest):
    units = board.units()
    form = forms.DashboardFilterForm(request.GET or None, units=units)
    unit, months = units[0], 24
    if form.is_valid():
        chosen = form.cleaned_data["unit"]
        unit = next((u for u in units if u.key == chosen), units[0])
        months = form.cleaned_data["months"] or 24
    last_month = timezone.localdate().replace(day=1)
    first_month = (last_month - datetime.timedelta(days=31 * (months - 1))).replace(day=1)
    return form, unit, first_month, last_month


@manager_only
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    form, unit, first_month, last_month = _period(request)
    series = board.dashboard(unit=unit, first_month=first_month, last_month=last_month)
    latest_month = max((s.latest.month for s in series if s.latest), default=None)
    funnels = []
    if latest_month is not None:
        per_team = board.team_values(month=latest_month)
        centre = board.centre_values(month=latest_month)
        for s in series:
            teams = [(team.name, v.numerator, v.denominator) for team, v in per_team.get(s.indicator.id, [])]
            total = centre.get(s.indicator.id)
            figure = board.funnel_plot(s.indicator, teams, (total.numerator, total.denominator)) if total else None
            if figure is not None:
                funnels.append((f"funnel-{s.indicator.code.lower()}", figure))
    context = {
        "form": form,
        "unit": unit,
        "charts": [(f"run-{s.indicator.code.lower()}", board.run_chart(s)) for s in series if s.values],
        "funnels": funnels,
        "table": board.latest_table(series),
        "last_run": board.last_run(),
        "rows": centre_overview(),
        "activity": encounters_per_professional(),
        "groups": ConditionGroup.choices,
        "stories": list(stories.approved_stories()[:5]),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "reporting/dashboard.html", context)


@manager_only
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The table on the dashboard, as CSV or XLSX, with the same suppression."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _form, unit, first_month, last_month = _period(request)
    table = board.latest_table(board.dashboard(unit=unit, first_month=first_month, last_month=last_month))
    header = [_("Code"), _("Indicator"), _("Month"), _("Numerator"), _("Denominator"), _("Value"), _("Target")]
    rows = [
        [r["code"], r["name"], r["month"], r["numerator"], r["denominator"], r["value"], r["target"]] for r in table
    ]
    stamp = timezone.localdate().isoformat()
    if fmt == "csv":
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="indicators-{unit.kind}-{stamp}.csv"'
        writer = csv.writer(response)
        writer.writerow(header)
        writer.writerows(rows)
        return response
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Indicators")[:31]
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f'attachment; filename="indicators-{unit.kind}-{stamp}.xlsx"'
    return response


@manager_only
@require_GET
def quarterly(request: HttpRequest) -> HttpResponse:
    """A printable report of the last finished quarter: indicators, run charts, approved stories."""
    today = timezone.localdate()
    this_quarter = datetime.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    start = (this_quarter - datetime.timedelta(days=1)).replace(day=1)
    start = datetime.date(start.year, 3 * ((start.month - 1) // 3) + 1, 1)
    last_month = datetime.date(start.year, start.month + 2, 1)
    unit = board.units()[0]
    series = board.dashboard(unit=unit, first_month=start - datetime.timedelta(days=365), last_month=last_month)
    tz = timezone.get_current_timezone()
    context = {
        "quarter": f"{start.year} K{(start.month - 1) // 3 + 1}",
        "charts": [(f"run-{s.indicator.code.lower()}", board.run_chart(s)) for s in series if s.values],
        "table": board.latest_table(series),
        "stories": list(
            stories.approved_stories(
                since=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
                until=datetime.datetime.combine(this_quarter, datetime.time.min, tzinfo=tz),
            )
        ),
        "last_run": board.last_run(),
    }
    return render(request, "reporting/quarterly.html", context)


# --- good stories -----------------------------------------------------------------------------------------


@manager_only
@require_GET
def story_queue(request: HttpRequest) -> HttpResponse:
    if request.user.role != Role.MANAGER:
        raise Http404
    waiting = Story.objects.filter(status=StoryStatus.SUBMITTED).filter(stories.with_consent()).order_by("created_at")
    return render(
        request,
        "reporting/story_queue.html",
        {"waiting": list(waiting), "approved": list(stories.approved_stories()[:50])},
    )


def _before_after(story: Story) -> list[float] | None:
    """HbA1c values in order, without dates or anything else about the citizen."""
    if not story.show_chart:
        return None
    return [
        float(v)
        for v in Measurement.objects.filter(patient_id=story.patient_id, type__code="hba1c", value__isnull=False)
        .order_by("measured_at")
        .values_list("value", flat=True)
    ]


@manager_only
@require_http_methods(["GET", "POST"])
def story_review(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The manager sees the pseudonymised version only: never the citizen's record."""
    if request.user.role != Role.MANAGER:
        raise Http404
    story = Story.objects.filter(public_id=public_id).filter(stories.with_consent()).select_related("patient").first()
    if story is None:
        raise Http404
    form = forms.StoryDecisionForm(request.POST or None, initial={"version": story.version})
    if request.method == "POST" and form.is_valid():
        decide = stories.story_approve if "approve" in request.POST else stories.story_return
        try:
            decide(
                actor=request.user,
                story=story,
                expected_version=form.cleaned_data["version"],
                comment=form.cleaned_data["comment"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, _("The story is approved.") if "approve" in request.POST else _("The story is returned.")
            )
            return redirect("reporting:stories")
    values = _before_after(story)
    chart = None
    if values:
        chart = {
            "data": [{"type": "scatter", "mode": "lines+markers", "x": list(range(1, len(values) + 1)), "y": values}],
            "layout": {
                "height": 220,
                "margin": {"l": 40, "r": 10, "t": 20, "b": 30},
                "plot_bgcolor": "white",
                "xaxis": {"title": {"text": _("measurement no.")}, "dtick": 1},
                "yaxis": {"title": {"text": "HbA1c (mmol/mol)"}},
            },
        }
    return render(request, "reporting/story_review.html", {"story": story, "form": form, "chart": chart})


@citizen_work
@require_http_methods(["GET", "POST"])
def story_create(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    action = AccessAction.CREATE if request.method == "POST" else AccessAction.VIEW
    patient = patient_selectors.patient_for(request.user, public_id, what=gettext_noop("good story"), action=action)
    form = forms.StoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            story = stories.story_create(actor=request.user, patient=patient, **form.cleaned_data)
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("Check the proposed version for reports, then submit it."))
            return redirect("reporting:story_edit", public_id=story.public_id)
    return render(request, "reporting/story_form.html", {"form": form, "patient": patient})


@citizen_work
@require_http_methods(["GET", "POST"])
def story_edit(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    story = Story.objects.filter(public_id=public_id, author=request.user).select_related("patient").first()
    if story is None:
        raise Http404
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    patient_selectors.patient_for(request.user, story.patient.public_id, what=gettext_noop("good story"), action=action)
    form = forms.StorySubmitForm(
        request.POST or None,
        initial={
            "version": story.version,
            "title": story.title,
            "published_text": story.published_text,
            "show_chart": story.show_chart,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            stories.story_submit(
                actor=request.user,
                story=story,
                expected_version=form.cleaned_data["version"],
                title=form.cleaned_data["title"],
                published_text=form.cleaned_data["published_text"],
                show_chart=form.cleaned_data["show_chart"],
            )
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The story is sent to the manager for approval."))
            return redirect("patients:detail", public_id=story.patient.public_id)
    return render(request, "reporting/story_edit.html", {"form": form, "story": story, "patient": story.patient})
