"""/api/token/: a token for a username, a password and a current code (docs/two-factor.md).

A token is only ever issued to someone who passed both steps, so token-authenticated API calls count
as verified. The code is checked after the password, so that wrong passwords still count towards
django-axes' lockout whether or not a code was sent."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken

from . import services


class AuthTokenWithCodeSerializer(AuthTokenSerializer):
    otp = serializers.CharField(
        label="Code",
        required=False,
        allow_blank=True,
        write_only=True,
        max_length=20,
        help_text="The 6-digit code your authenticator app shows now, or one of your recovery codes "
        "(each recovery code works once).",
    )

    def validate(self, attrs):
        attrs = super().validate(attrs)
        user = attrs["user"]
        code = attrs.get("otp") or ""
        if not code.strip():
            raise serializers.ValidationError(
                {"otp": ["Enter the code from your authenticator app, or one of your recovery codes"]}
            )
        if not services.has_app_device(user):
            raise serializers.ValidationError(
                {"otp": ["Set up two-factor authentication first: sign in on the website"]}
            )
        check = services.any_code_check(user=user, code=code)
        if check.wait_seconds:
            raise serializers.ValidationError(
                {"otp": [f"Too many wrong codes. Wait {check.wait_seconds} seconds, then try again"]}
            )
        if not check.ok:
            raise serializers.ValidationError(
                {"otp": ["That code is not right, has expired or has already been used"]}
            )
        return attrs


class ObtainAuthTokenWithCode(ObtainAuthToken):
    serializer_class = AuthTokenWithCodeSerializer
