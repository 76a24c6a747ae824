"""The admin's frame around Django's pages: the way out to the administrator's own account."""

from django.urls import reverse

from tests.conftest import client_for


def test_every_admin_page_links_to_the_administrators_own_account(administrator):
    # "Make new ones under My account", says the warning about few backup codes, on the admin's pages too.
    client = client_for(administrator)
    for url in [reverse("admin:index"), reverse("admin:healthcenter_user_changelist")]:
        response = client.get(url)
        assert response.status_code == 200
        assert f'<a href="{reverse("accounts:account")}">' in response.content.decode()


def test_the_admin_pages_name_our_icon(administrator):
    # Without it the browser asks for /favicon.ico, which does not exist: a 404 on every admin page.
    response = client_for(administrator).get(reverse("admin:index"))
    assert 'rel="icon"' in response.content.decode()
