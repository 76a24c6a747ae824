from django.urls import path

from . import views

app_name = "accounts"
urlpatterns = [
    path("", views.account, name="account"),
    path("two-factor/", views.verify, name="verify"),
    path("two-factor/setup/", views.setup, name="setup"),
    path("two-factor/backup-codes/", views.backup_codes, name="backup_codes"),
    path("password/", views.PasswordChange.as_view(), name="password_change"),
]
