"""The briefing in a real browser: what matters, goals, what was agreed and what changed, then
the gap closes once the missing measurement is recorded and signed (and the worker has re-evaluated
the citizen's gaps)."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from coordination.caregaps import evaluate_care_gaps
from coordination.models import CareGap
from healthcenter.outbox.models import Job
from healthcenter.outbox.services import job_run
from tests.job_faults import wait_for
from tests.test_briefing import citizen  # noqa: F401 - the seeded citizen fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_briefing_tells_what_to_know_and_the_gap_closes(page, logged_in, live_server, member, citizen):  # noqa: F811
    evaluate_care_gaps()
    assert CareGap.objects.filter(patient=citizen, rule__code="bp-12m", closed_at__isnull=True).exists()
    logged_in(member)
    page.goto(live_server.url + reverse("coordination:worklist"))
    page.locator(f'a[href="{reverse("coordination:briefing", args=[citizen.public_id])}"]').click()

    expect(page.locator("[data-testid=what-matters]")).to_contain_text("At cykle igen")
    expect(page.locator("[data-testid=goals]")).to_contain_text("Undgå insulin")
    expect(page.locator("[data-testid=agreed]")).to_contain_text("Gåtur hver dag")
    expect(page.locator("[data-testid=agreed]")).to_contain_text("Ring til diætist")
    expect(page.locator("[data-testid=changes]")).to_contain_text("71 → 57")
    expect(page.locator("[data-testid=masked-cpr]")).to_have_text(citizen.cpr_masked)
    expect(page.locator("[data-testid=gaps]")).to_contain_text("Blodtryk ikke målt i 12 måneder")
    expect(page.locator("#chart-briefing-hba1c .main-svg").first).to_be_visible()

    page.locator('main a[href$="/encounters/new/"]').click()
    page.fill("#id_m_systolic_bp", "132")
    page.fill("#id_m_diastolic_bp", "80")
    page.fill("#id_note", "Blodtryk målt.")
    page.locator("button[name=sign]").click()
    page.locator("#sign-confirm").click()  # "Save and sign" asks for confirmation first
    # The signature asks a worker to re-evaluate the citizen's gaps (healthcenter.outbox); run here, as one would.
    job = wait_for(Job.objects.first, timeout=5, what="the signature's job")
    assert job_run(job_id=job.pk)
    page.goto(live_server.url + reverse("coordination:briefing", args=[citizen.public_id]))
    expect(page.locator("[data-testid=gaps]")).not_to_contain_text("Blodtryk ikke målt i 12 måneder")
    gap = CareGap.objects.get(patient=citizen, rule__code="bp-12m")
    assert gap.closed_at is not None
    assert gap.task.status == "done"
