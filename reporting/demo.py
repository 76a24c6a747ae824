"""Demo good stories on top of the rest of the demo data."""

from healthcenter.models import Role, User
from patients.models import Consent, ConsentKind

from .stories import story_approve, story_create, story_submit

STORIES = [
    (
        "Fra insulinfrygt til gåture",
        "{name} var bange for at skulle have insulin og kom sjældent ud.",
        "Faste gåture med en nabo og små mål fra gang til gang. HbA1c faldt, og humøret steg.",
    ),
    (
        "Tryg aften igen",
        "{name}s datter var bekymret for aftenerne, hvor uroen var størst.",
        "En fast aftenrutine og aflastning to gange om ugen gav ro til begge.",
    ),
    (
        "Tilbage i haven",
        "{name} havde opgivet haven efter diagnosen.",
        "Ergoterapeuten fandt hjælpemidler, og havearbejde blev en del af planen.",
    ),
]


def seed_stories() -> None:
    consenting = [
        c.patient
        for c in Consent.objects.filter(kind=ConsentKind.STORY_IN_REPORTS, withdrawn_on__isnull=True)
        .select_related("patient", "patient__responsible_professional")
        .order_by("id")[: len(STORIES)]
    ]
    manager = User.objects.filter(role=Role.MANAGER).order_by("id").first()
    for index, (patient, (title, happened, difference)) in enumerate(zip(consenting, STORIES, strict=False)):
        author = patient.responsible_professional
        if author is None:
            continue
        story = story_create(
            actor=author,
            patient=patient,
            title=title,
            what_happened=happened.format(name=patient.first_name),
            what_made_the_difference=difference,
        )
        story_submit(
            actor=author,
            story=story,
            expected_version=1,
            title=story.title,
            published_text=story.published_text,
            show_chart=True,
        )
        if index < 2 and manager is not None:
            story_approve(actor=manager, story=story, expected_version=2)
