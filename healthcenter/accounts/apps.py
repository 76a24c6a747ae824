from django.contrib.admin.apps import AdminConfig


class VerifiedAdminConfig(AdminConfig):
    """django.contrib.admin with our admin site as admin.site (see admin_site.py)."""

    default_site = "healthcenter.accounts.admin_site.VerifiedAdminSite"
