"""The good-story pages: the author's proposal and submission, the manager's queue and review."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter.models import AccessAction, Role
from healthcenter.views_helpers import apply_errors
from patients import selectors as patient_selectors
from patients.models import Measurement
from patients.views import citizen_work

from . import forms, stories
from .models import Story, StoryStatus
from .views import manager_only


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
