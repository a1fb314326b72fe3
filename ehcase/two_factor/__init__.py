"""Two-factor authentication for every user (docs/two-factor.md): an authenticator app (TOTP) with
single-use recovery codes, from django-otp. Required on every page and API call after the password."""
