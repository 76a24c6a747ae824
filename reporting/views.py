from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from healthcenter.access import figures_work

from . import dashboard as board
from . import exports, forms, stories
from . import quarterly as report


def _period(request: HttpRequest):
    """The unit and the first and last month the dashboard and its export follow (DashboardFilterForm)."""
    units = board.units()
    form = forms.DashboardFilterForm(request.GET or None, units=units, today=timezone.localdate())
    key, first_month, last_month = form.period()
    unit = next((u for u in units if u.key == key), units[0])
    return form, unit, first_month, last_month


@figures_work
@require_GET
def overview(request: HttpRequest) -> HttpResponse:
    form, unit, first_month, last_month = _period(request)
    shown_stories = list(stories.approved_stories()[:5])
    stories.stories_shown(actor=request.user, shown=shown_stories)
    context = {
        "form": form,
        "board": board.overview(unit=unit, all_units=form.units, first_month=first_month, last_month=last_month),
        "last_run": board.last_run(),
        "stories": shown_stories,
        "export_query": request.GET.urlencode(),
    }
    return render(request, "reporting/dashboard.html", context)


@figures_work
@require_GET
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    """The chosen unit and period as CSV or XLSX: every month of it, each cell as the display
    function shows it (see reporting/exports.py for the file formats)."""
    if fmt not in ("csv", "xlsx"):
        raise Http404
    _form, unit, first_month, last_month = _period(request)
    data = exports.unit_figures(unit=unit, first_month=first_month, last_month=last_month)
    if fmt == "csv":
        response = HttpResponse(exports.export_file(data, fmt), content_type="text/csv; charset=utf-8")
    else:
        response = HttpResponse(
            exports.export_file(data, fmt),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    response["Content-Disposition"] = f'attachment; filename="{exports.filename(data, fmt)}"'
    return response


@figures_work
@require_GET
def quarterly(request: HttpRequest) -> HttpResponse:
    """A printable report of a chosen quarter (the last finished one unless another is chosen) for
    a chosen unit: each indicator against its target, run charts with their signal, good stories."""
    quarters = report.finished_quarters(today=timezone.localdate())
    units = board.units()
    form = forms.QuarterlyForm(request.GET or None, quarters=quarters, units=units)
    quarter, unit = quarters[0], units[0]
    if form.is_valid():
        quarter = next((q for q in quarters if q.key == form.cleaned_data["quarter"]), quarter)
        unit = next((u for u in units if u.key == form.cleaned_data["unit"]), unit)
    data = report.quarterly_report(quarter=quarter, unit=unit)
    stories.stories_shown(actor=request.user, shown=data.stories)
    context = {
        "form": form,
        "report": data,
        "period": report.period_text(quarter),
    }
    return render(request, "reporting/quarterly.html", context)
