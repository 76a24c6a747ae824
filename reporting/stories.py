"""Good stories: the pseudonymised proposal, the checks that keep identifying details away from the
manager (DESIGN.md, "Good stories: what pseudonymised means"), the writes of the story workflow and
the reads its pages need."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from healthcenter import access
from healthcenter.models import AccessAction, User
from patients.definitions import counted_measurements
from patients.models import Consent, ConsentKind, Patient, Relative

from .identifiers import Kind, Match, find_identifiers, pseudonymise
from .models import Story, StoryStatus

KIND_LABELS = {
    Kind.CPR: gettext_lazy("CPR number"),
    Kind.PHONE: gettext_lazy("phone number"),
    Kind.EMAIL: gettext_lazy("e-mail address"),
    Kind.DATE: gettext_lazy("date"),
    Kind.AGE: gettext_lazy("exact age"),
    Kind.NAME: gettext_lazy("name"),
    Kind.PLACE: gettext_lazy("place"),
}
# The text fields that reach the manager, in the order the author sees them.
PUBLISHED_FIELDS = ("title", "published_text")


@dataclass(frozen=True)
class Vocabulary:
    """What identifies the people around one citizen: names, address, phone numbers, e-mail."""

    citizen_names: list[str]
    relative_names: list[str]
    other_names: list[str]
    places: list[str]
    phones: list[str]
    emails: list[str]

    def find(self, text: str) -> list[Match]:
        return find_identifiers(
            text,
            names=[*self.citizen_names, *self.relative_names, *self.other_names],
            places=self.places,
            phones=self.phones,
            emails=self.emails,
        )

    def pseudonymise(self, text: str) -> str:
        return pseudonymise(
            text,
            citizen_names=self.citizen_names,
            relative_names=self.relative_names,
            other_names=self.other_names,
            places=self.places,
            phones=self.phones,
            emails=self.emails,
        )


def vocabulary_for(patient: Patient) -> Vocabulary:
    """Two queries: the citizen's relatives (former ones too), and every active user of the system,
    since a colleague's name identifies the team and so the citizen."""
    relatives = list(Relative.objects.filter(patient=patient).values_list("name", "phone"))
    staff = User.objects.filter(is_active=True).values_list("first_name", "last_name")
    return Vocabulary(
        citizen_names=[patient.first_name, patient.last_name],
        relative_names=[name for name, _phone in relatives],
        other_names=[patient.gp_name, *(f"{first} {last}" for first, last in staff)],
        places=[patient.address, patient.postal_code, patient.city],
        phones=[patient.phone, patient.gp_phone, *(phone for _name, phone in relatives)],
        emails=[patient.email],
    )


def describe(matches: list[Match]) -> str:
    """“Hanne” (name), “3/4” (date): for the author, who may see the details."""
    return ", ".join(f"“{m.text}” ({KIND_LABELS[m.kind]})" for m in matches)


class StillIdentifying(ValidationError):
    """The title or the text for reports still names someone or something; `found` keeps the
    matches per field so the author's page can mark them."""

    def __init__(self, found: dict[str, list[Match]]):
        self.found = found
        super().__init__(
            {
                field: ValidationError(
                    _(
                        "This still contains details that can identify someone: %(details)s. "
                        "Remove them or rewrite them in general words."
                    ),
                    code="identifying",
                    params={"details": describe(matches)},
                )
                for field, matches in found.items()
            }
        )


def identifying_details(story: Story, vocabulary: Vocabulary | None = None) -> dict[str, list[Match]]:
    """The matches in what the manager would read, per field; empty when the story is clean."""
    vocabulary = vocabulary or vocabulary_for(story.patient)
    found = {field: vocabulary.find(getattr(story, field)) for field in PUBLISHED_FIELDS}
    return {field: matches for field, matches in found.items() if matches}


def _check_not_identifying(*, vocabulary: Vocabulary, title: str, published_text: str) -> None:
    found = {"title": vocabulary.find(title), "published_text": vocabulary.find(published_text)}
    found = {field: matches for field, matches in found.items() if matches}
    if found:
        raise StillIdentifying(found)


def with_consent() -> Exists:
    return Exists(
        Consent.objects.filter(
            patient=OuterRef("patient"), kind=ConsentKind.STORY_IN_REPORTS, withdrawn_on__isnull=True
        )
    )


def stories_shown(*, actor: User, shown: list[Story]) -> None:
    """Logs that a manager's page showed these stories (pseudonymised) under each citizen, so that
    "who read about me" answers for reports too. One query, or none."""
    if shown:
        access.record_many(
            actor=actor,
            action=AccessAction.VIEW,
            what=gettext_noop("good story (pseudonymised) in a report"),
            patient_public_ids=[story.patient.public_id for story in shown],
        )


def approved_stories(*, since=None, until=None) -> QuerySet[Story]:
    """Approved stories whose citizen still consents: withdrawing the consent withdraws the story."""
    stories = Story.objects.filter(status=StoryStatus.APPROVED).filter(with_consent()).select_related("patient")
    if since is not None:
        stories = stories.filter(decided_at__gte=since)
    if until is not None:
        stories = stories.filter(decided_at__lt=until)
    return stories.order_by("-decided_at")


# What a manager may open: submitted stories to decide and approved ones to read. A draft or a
# returned story is the author's and does not exist for the manager.
REVIEWABLE = (StoryStatus.SUBMITTED, StoryStatus.APPROVED)


def stories_for_review() -> QuerySet[Story]:
    return Story.objects.filter(status__in=REVIEWABLE).filter(with_consent())


def story_for_review(user: User, public_id, *, what: str, action: AccessAction) -> Story:
    """A story a manager may open (submitted or approved, its citizen still consenting), or 404. Read
    outside the care relation, pseudonymised, and logged under the citizen, allowed or refused."""
    story = (
        Story.objects.filter(public_id=public_id).select_related("patient").annotate(consented=with_consent()).first()
    )
    reviewable = story is not None and story.consented and story.status in REVIEWABLE
    access.authorise(
        user,
        story.patient if story else None,
        what=what,
        action=action,
        work=access.Work.STORY_REVIEW,
        condition=reviewable,
    )
    return story


def story_for_author(user: User, public_id, *, what: str, action: AccessAction) -> Story:
    """A story is its author's to edit, while the citizen is in the author's care relation; anyone
    else is refused, logged under the citizen."""
    story = Story.objects.filter(public_id=public_id).select_related("patient").first()
    access.authorise(
        user,
        story.patient if story else None,
        what=what,
        action=action,
        condition=story is not None and story.author_id == user.id,
    )
    return story


def stories_of_author(user: User) -> QuerySet[Story]:
    """The author's own stories, newest first, each marked with whether its citizen is still in
    the author's care relation (only then does the author reach the story's page)."""
    return (
        Story.objects.filter(author=user)
        .select_related("patient")
        .annotate(reachable=ExpressionWrapper(Q(patient__team_id__in=access.care_team_ids(user)), BooleanField()))
        .order_by("-created_at")
    )


def stories_about(user: User, patient: Patient) -> QuerySet[Story]:
    """The user's own stories about one citizen, for the citizen's page (already reached through
    `patient_for`)."""
    return Story.objects.filter(author=user, patient=patient).order_by("-created_at")


def returned_to(user: User) -> QuerySet[Story]:
    """Stories a manager returned to the user, about citizens the user still works with: they stay
    in "new for you" until the author submits them again."""
    return (
        Story.objects.filter(author=user, status=StoryStatus.RETURNED, patient__team_id__in=access.care_team_ids(user))
        .select_related("decided_by")
        .order_by("-decided_at")
    )


def hba1c_before_after(story: Story) -> list[float] | None:
    """The citizen's HbA1c values in time order, without dates or anything else about the citizen,
    when the author chose to show them. Only values that count (DESIGN.md, "What counts as
    measured"): from the lab or entered by hand, or from a signed encounter."""
    if not story.show_chart:
        return None
    values = (
        counted_measurements()
        .filter(patient_id=story.patient_id, type__code="hba1c", value__isnull=False)
        .order_by("measured_at", "id")
        .values_list("value", flat=True)
    )
    return [float(v) for v in values]


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
    vocabulary = vocabulary_for(patient)
    original = f"{what_happened.strip()}\n\n{what_made_the_difference.strip()}".strip()
    proposal_title, proposal = vocabulary.pseudonymise(title.strip()), vocabulary.pseudonymise(original)
    # The proposal is clean by construction; checking it is the same check submit and approval make.
    _check_not_identifying(vocabulary=vocabulary, title=proposal_title, published_text=proposal)
    return Story.objects.create(
        patient=patient,
        author=actor,
        title=proposal_title,
        what_happened=what_happened.strip(),
        what_made_the_difference=what_made_the_difference.strip(),
        published_text=proposal,
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
    _check_not_identifying(
        vocabulary=vocabulary_for(story.patient), title=title.strip(), published_text=published_text.strip()
    )
    _bump(
        story,
        expected_version,
        title=title.strip(),
        published_text=published_text.strip(),
        show_chart=show_chart,
        status=StoryStatus.SUBMITTED,
    )
    return story


def _may_decide(*, actor: User, story: Story) -> None:
    if not access.may(actor, access.Work.STORY_REVIEW):
        raise ValidationError(_("Only a manager approves or returns stories."))
    if story.status != StoryStatus.SUBMITTED:
        raise ValidationError(_("Only a submitted story can be approved or returned."))


def _decide(*, actor: User, story: Story, expected_version: int, status: str, comment: str) -> Story:
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
    _may_decide(actor=actor, story=story)
    _require_consent(story.patient)
    # Names, relatives or the address may have changed since the author submitted.
    found = identifying_details(story)
    if found:
        kinds = sorted({str(KIND_LABELS[m.kind]) for matches in found.values() for m in matches})
        raise ValidationError(
            _(
                "The story still contains identifying details (%(kinds)s). It cannot be approved; "
                "return it to its author."
            ),
            code="identifying",
            params={"kinds": ", ".join(kinds)},
        )
    return _decide(
        actor=actor, story=story, expected_version=expected_version, status=StoryStatus.APPROVED, comment=comment
    )


@transaction.atomic
def story_return(*, actor: User, story: Story, expected_version: int, comment: str) -> Story:
    _may_decide(actor=actor, story=story)
    if not comment.strip():
        raise ValidationError(_("Tell the author what to change."))
    return _decide(
        actor=actor, story=story, expected_version=expected_version, status=StoryStatus.RETURNED, comment=comment
    )
