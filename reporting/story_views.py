"""The good-story pages: the author's proposal, submission and own stories; the manager's queue and
review."""

import uuid

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_GET, require_http_methods

from healthcenter import access
from healthcenter.access import citizen_work, story_review_work
from healthcenter.models import AccessAction
from healthcenter.views_helpers import apply_errors
from patients import selectors as patient_selectors

from . import forms, stories
from .identifiers import Match
from .models import StoryStatus


def highlighted(text: str, matches: list[Match]) -> SafeString:
    """The text with each identifying detail marked, everything escaped."""
    pieces, position = [], 0
    for match in matches:
        pieces.append((text[position : match.start], match.kind, match.text))
        position = match.end
    marked = format_html_join("", '{}<mark data-kind="{}">{}</mark>', pieces)
    return format_html("{}{}", marked, text[position:])


@story_review_work
@require_GET
def story_queue(request: HttpRequest) -> HttpResponse:
    waiting = stories.stories_for_review().filter(status=StoryStatus.SUBMITTED).order_by("created_at")
    return render(
        request,
        "reporting/story_queue.html",
        {"waiting": list(waiting), "approved": list(stories.approved_stories()[:50])},
    )


def _chart(values: list[float] | None) -> dict | None:
    if not values:
        return None
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "x": list(range(1, len(values) + 1)), "y": values}],
        "layout": {
            "height": 220,
            "margin": {"l": 40, "r": 10, "t": 20, "b": 30},
            "plot_bgcolor": "white",
            "xaxis": {"title": {"text": _("measurement no.")}, "dtick": 1},
            "yaxis": {"title": {"text": "HbA1c (mmol/mol)"}},
        },
    }


@story_review_work
@require_http_methods(["GET", "POST"])
def story_review(request: HttpRequest, public_id: uuid.UUID) -> HttpResponse:
    """The manager sees the pseudonymised version only, never the citizen's record: a submitted
    story to decide, or an approved one to read."""
    story = stories.story_for_review(
        request.user,
        public_id,
        what=gettext_noop("good story (pseudonymised)"),
        action=AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW,
    )
    vocabulary = stories.vocabulary_for(story.patient)
    found = stories.identifying_details(story, vocabulary)
    form = None
    if story.status == StoryStatus.SUBMITTED:
        form = forms.StoryDecisionForm(request.POST or None, initial={"version": story.version})
    if request.method == "POST" and form is not None and form.is_valid():
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
    context = {
        "story": story,
        "form": form,
        "chart": _chart(stories.hba1c_before_after(story)),
        "still_identifying": bool(found),
        # Whatever still identifies is hidden from the manager too, not only refused.
        "title": vocabulary.pseudonymise(story.title) if found else story.title,
        "text": vocabulary.pseudonymise(story.published_text) if found else story.published_text,
    }
    return render(request, "reporting/story_review.html", context)


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
    action = AccessAction.UPDATE if request.method == "POST" else AccessAction.VIEW
    story = stories.story_for_author(request.user, public_id, what=gettext_noop("good story"), action=action)
    form = forms.StorySubmitForm(
        request.POST or None,
        initial={
            "version": story.version,
            "title": story.title,
            "published_text": story.published_text,
            "show_chart": story.show_chart,
        },
    )
    found: dict[str, list[Match]] = {}
    texts = {"title": story.title, "published_text": story.published_text}
    if request.method == "POST" and form.is_valid():
        submitted = {field: form.cleaned_data[field].strip() for field in texts}
        try:
            stories.story_submit(
                actor=request.user,
                story=story,
                expected_version=form.cleaned_data["version"],
                title=form.cleaned_data["title"],
                published_text=form.cleaned_data["published_text"],
                show_chart=form.cleaned_data["show_chart"],
            )
        except stories.StillIdentifying as error:
            apply_errors(form, error)
            found, texts = error.found, submitted
        except ValidationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, _("The story is sent to the manager for approval."))
            return redirect("patients:detail", public_id=story.patient.public_id)
    elif request.method == "GET" and story.status in (StoryStatus.DRAFT, StoryStatus.RETURNED):
        # Names or the address may have changed since the proposal was made.
        found = stories.identifying_details(story)
    marked = [
        (form[field].label, highlighted(texts[field], matches), stories.describe(matches))
        for field, matches in found.items()
    ]
    return render(
        request,
        "reporting/story_edit.html",
        {"form": form, "story": story, "patient": story.patient, "marked": marked},
    )


@citizen_work
@require_GET
def my_stories(request: HttpRequest) -> HttpResponse:
    """The author's stories in every state, so that a returned one is never lost."""
    mine = list(stories.stories_of_author(request.user))
    access.listed(request.user, gettext_noop("my stories"))
    return render(request, "reporting/story_mine.html", {"stories": mine})
