"""Good stories: the pseudonymised proposal, and the writes of the story workflow."""

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from healthcenter.models import Role, User
from patients.models import Consent, ConsentKind, Patient

from .models import Story, StoryStatus

DATE_PATTERNS = [
    r"\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b",  # 12-03-2025, 12.3.25, 12/03/2025
    r"\b\d{4}-\d{2}-\d{2}\b",  # 2025-03-12
    r"\b\d{1,2}\.?\s+(jan|feb|mar|apr|maj|jun|jul|aug|sep|okt|nov|dec)[a-zæøå]*\.?(\s+\d{4})?",
]
CPR_PATTERN = r"\b\d{6}-?\d{4}\b"


def pseudonymise(text: str, *, citizen_names: list[str], relative_names: list[str], other: list[str]) -> str:
    """A proposal the author checks and edits: the citizen's and relatives' names, CPR numbers,
    addresses, dates and other given words are replaced by neutral words."""
    result = re.sub(CPR_PATTERN, "[CPR]", text)
    for pattern in DATE_PATTERNS:
        result = re.sub(pattern, "[dato]", result, flags=re.IGNORECASE)
    replacements = [(name, "borgeren") for name in citizen_names] + [(n, "den pårørende") for n in relative_names]
    replacements += [(word, "[fjernet]") for word in other]
    # Longest first, so that "Karen Jensen" goes before "Karen".
    for word, neutral in sorted(replacements, key=lambda pair: -len(pair[0])):
        if word and len(word) > 1:
            # Also the Danish genitive ("Karens datter").
            result = re.sub(rf"\b{re.escape(word)}(s?)\b", rf"{neutral}\1", result, flags=re.IGNORECASE)
    return result


def proposal_for(patient: Patient, text: str) -> str:
    relatives = [n for r in patient.relatives.all() for n in [r.name, *r.name.split()]]
    return pseudonymise(
        text,
        citizen_names=[patient.full_name, patient.first_name, patient.last_name],
        relative_names=relatives,
        other=[patient.address, patient.city, patient.postal_code, patient.phone, patient.gp_name],
    )


def with_consent() -> Exists:
    return Exists(
        Consent.objects.filter(
            patient=OuterRef("patient"), kind=ConsentKind.STORY_IN_REPORTS, withdrawn_on__isnull=True
        )
    )


def approved_stories(*, since=None, until=None) -> QuerySet[Story]:
    """Approved stories whose citizen still consents: withdrawing the consent withdraws the story."""
    stories = Story.objects.filter(status=StoryStatus.APPROVED).filter(with_consent())
    if since is not None:
        stories = stories.filter(decided_at__gte=since)
    if until is not None:
        stories = stories.filter(decided_at__lt=until)
    return stories.order_by("-decided_at")


def _require_consent(patient: Patient) -> None:
    if not Consent.objects.filter(
        patient=patient, kind=ConsentKind.STORY_IN_REPORTS, withdrawn_on__isnull=True
    ).exists():
        raise ValidationError(_("The citizen has not consented to their story being used in reports."))


@transaction.atomic
def story_create(
    *, actor: User, patient: Patient, title: str, what_happened: str, what_made_the_difference: str
) -> Story:
    _require_consent(patient)
    if not title.strip() or not what_happened.strip():
        raise ValidationError(_("Give the story a title and tell what happened."))
    original = f"{what_happened.strip()}\n\n{what_made_the_difference.strip()}".strip()
    return Story.objects.create(
        patient=patient,
        author=actor,
        title=proposal_for(patient, title.strip()),
        what_happened=what_happened.strip(),
        what_made_the_difference=what_made_the_difference.strip(),
        published_text=proposal_for(patient, original),
    )


def _bump(story: Story, expected_version: int, **changes) -> None:
    updated = Story.objects.filter(pk=story.pk, version=expected_version).update(version=F("version") + 1, **changes)
    if not updated:
        raise ValidationError(_("The story was changed by someone else meanwhile. Reload it; nothing was saved."))
    for field, value in changes.items():
        setattr(story, field, value)
    story.version = expected_version + 1


@transaction.atomic
def story_submit(
    *, actor: User, story: Story, expected_version: int, title: str, published_text: str, show_chart: bool
) -> Story:
    if story.author_id != actor.id:
        raise ValidationError(_("Only the author submits a story."))
    if story.status not in (StoryStatus.DRAFT, StoryStatus.RETURNED):
        raise ValidationError(_("The story has already been submitted."))
    _require_consent(story.patient)
    if not published_text.strip() or not title.strip():
        raise ValidationError(_("The text for reports cannot be empty."))
    _bump(
        story,
        expected_version,
        title=title.strip(),
        published_text=published_text.strip(),
        show_chart=show_chart,
        status=StoryStatus.SUBMITTED,
    )
    return story


def _decide(*, actor: User, story: Story, expected_version: int, status: str, comment: str) -> Story:
    if actor.role != Role.MANAGER:
        raise ValidationError(_("Only a manager approves or returns stories."))
    if story.status != StoryStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted story can be approved or returned."))
    _bump(
        story,
        expected_version,
        status=status,
        manager_comment=comment.strip(),
        decided_by=actor,
        decided_at=timezone.now(),
    )
    return story


@transaction.atomic
def story_approve(*, actor: User, story: Story, expected_version: int, comment: str = "") -> Story:
    _require_consent(story.patient)
    return _decide(
        actor=actor, story=story, expected_version=expected_version, status=StoryStatus.APPROVED, comment=comment
    )


@transaction.atomic
def story_return(*, actor: User, story: Story, expected_version: int, comment: str) -> Story:
    if not comment.strip():
        raise ValidationError(_("Tell the author what to change."))
    return _decide(
        actor=actor, story=story, expected_version=expected_version, status=StoryStatus.RETURNED, comment=comment
    )
