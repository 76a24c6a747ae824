"""The API's documentation pages in Chromium (issue 12): Swagger UI (/api/docs/) and ReDoc
(/api/redoc/) draw the schema's operations under the strict Content-Security-Policy without a single
violation, and load nothing from anywhere but our own origin (drf-spectacular's sidecar files, served
as static files; healthcenter/api_docs.py and templates/api/).

Violations are caught as tests/browser/test_csp.py catches them: a `securitypolicyviolation` listener
installed before the page's scripts, and Chromium's console errors."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from .test_csp import Watched

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DRAWN_MS = 20_000


@pytest.fixture
def watched(recorded) -> Watched:
    return Watched(recorded)


def test_swagger_ui_draws_the_schema_without_a_violation(watched, recorded, logged_in, member):
    logged_in(member)
    page = watched.page
    watched.visit(reverse("api:docs"))
    # An operation of the schema, drawn by Swagger UI from /api/schema/.
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/citizens/").first).to_be_visible(timeout=DRAWN_MS)
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Sundhedscenter API")
    # The two ways in, from the schema's securitySchemes.
    page.locator(".btn.authorize").first.click()
    expect(page.locator(".modal-ux")).to_contain_text("token")
    expect(page.locator(".modal-ux")).to_contain_text("session")
    assert watched.violations() == []
    assert recorded.foreign_requests() == []
    requested = " ".join(recorded.requested)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in requested
    assert "/api/schema/" in requested


def test_redoc_draws_the_schema_without_a_violation(watched, recorded, logged_in, member):
    logged_in(member)
    page = watched.page
    watched.visit(reverse("api:redoc"))
    expect(page.locator("h1", has_text="Sundhedscenter API")).to_be_visible(timeout=DRAWN_MS)
    expect(page.get_by_text("/api/v1/citizens/").first).to_be_attached(timeout=DRAWN_MS)
    expect(page.locator("[data-section-id^='tag/citizens']").first).to_be_attached()
    # The side menu's logo (Redocly's, from their CDN) is kept from loading: static/api/redoc-init.js.
    expect(page.locator("img[alt='redocly logo']")).to_be_hidden()
    page.wait_for_timeout(500)  # late requests (fonts, images) would report their violations by now
    assert watched.violations() == [], "\n".join(watched.violations())
    assert recorded.foreign_requests() == []
    assert "/static/drf_spectacular_sidecar/redoc/" in " ".join(recorded.requested)


def test_the_documentation_needs_a_signed_in_user(page):
    for name in ("api:docs", "api:redoc", "api:schema"):
        response = page.request.get(reverse(name))
        assert response.status == 401, name
