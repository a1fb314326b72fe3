"""The two-factor forms, GOV.UK style (ehcase.govuk_forms): a malformed code is a form error and is not
counted as an attempt; a well-formed wrong code is added by the view after the check. `next` travels
beside them as a hidden input and is checked by paths.safe_next, not by the forms."""

from __future__ import annotations

from django import forms

from ehcase.govuk_forms import GovukFormMixin

from . import services


class AppCodeForm(GovukFormMixin, forms.Form):
    code = forms.CharField(
        label="Code from your authenticator app",
        max_length=20,
        help_text="The 6-digit code your app shows now, for example 123456",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].error_messages["required"] = "Enter the 6-digit code from your authenticator app"

    def clean_code(self) -> str:
        value = services.normalise_app_code(self.cleaned_data["code"])
        if not services.TOTP_CODE_RE.match(value):
            raise forms.ValidationError("Enter the code as 6 numbers, for example 123456")
        return value


class RecoveryCodeForm(GovukFormMixin, forms.Form):
    code = forms.CharField(
        label="Recovery code",
        max_length=20,
        help_text="One of the recovery codes you saved when you set up two-factor authentication, "
        "for example abcd-ef23",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["code"].error_messages["required"] = "Enter one of your recovery codes"

    def clean_code(self) -> str:
        value = services.normalise_recovery_code(self.cleaned_data["code"])
        if not services.RECOVERY_CODE_RE.match(value):
            raise forms.ValidationError(
                "Enter the recovery code as it was shown: 8 letters and numbers, for example abcd-ef23"
            )
        return value


def wrong_code_message(check: services.Check, *, recovery: bool = False) -> str:
    if check.wait_seconds:
        return (
            f"You have entered too many wrong codes. Wait {check.wait_seconds} "
            f"second{'s' if check.wait_seconds != 1 else ''}, then try again"
        )
    if recovery:
        return "That recovery code is not right or has already been used. Check it and try again"
    return "That code is not right or has expired. Enter the code your authenticator app shows now"
