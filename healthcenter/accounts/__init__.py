"""Signing in and staying signed in: lockout after failed passwords (django-axes), a second factor
for managers and administrators (django-otp: an authenticator app and backup codes), session
lifetimes and the password change. Part of the staff side of `healthcenter`."""
