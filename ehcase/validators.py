"""Validators for identifiers that carry a check digit."""

import datetime as dt
import re

from django.core.exceptions import ValidationError

NHS_NUMBER_RE = re.compile(r"^\d{10}$")
UPN_RE = re.compile(r"^[A-HJ-NP-RT-Z]\d{11}[0-9A-HJKMNP-RT-Z]$")
# DfE UPN check letters: remainder 0..22 maps onto the alphabet without I, O and S.
UPN_CHECK_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"


def normalise_nhs_number(value: str) -> str:
    return re.sub(r"[\s-]", "", value or "")


def nhs_number_is_valid(value: str) -> bool:
    digits = normalise_nhs_number(value)
    if not NHS_NUMBER_RE.match(digits):
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - (total % 11)
    if check == 11:
        check = 0
    if check == 10:
        return False
    return check == int(digits[9])


def validate_nhs_number(value: str) -> None:
    digits = normalise_nhs_number(value)
    if not NHS_NUMBER_RE.match(digits):
        raise ValidationError("Enter an NHS number in the correct format, like 943 476 5919", code="format")
    if not nhs_number_is_valid(digits):
        raise ValidationError("Enter a valid NHS number: the check digit does not match", code="check_digit")


def upn_check_letter(rest: str) -> str:
    """The check letter for the 12 characters after it (DfE Common Basic Data Set algorithm)."""
    total = 0
    for weight, char in zip(range(2, 14), rest, strict=True):
        value = int(char) if char.isdigit() else UPN_CHECK_LETTERS.index(char)
        total += value * weight
    return UPN_CHECK_LETTERS[total % 23]


def validate_upn(value: str) -> None:
    upn = (value or "").strip().upper()
    if not UPN_RE.match(upn):
        raise ValidationError(
            "Enter a unique pupil number of 13 characters: a letter, 11 digits, then a digit or letter",
            code="format",
        )
    if upn_check_letter(upn[1:]) != upn[0]:
        raise ValidationError(
            "Enter a valid unique pupil number: the check letter does not match", code="check_letter"
        )


# A baby can arrive a few weeks after the expected date; later than this is a typing mistake.
LATE_BIRTH_ALLOWANCE = dt.timedelta(weeks=3)
EXPECTED_BIRTH_HORIZON = dt.timedelta(weeks=43)


def person_date_errors(
    date_of_birth: dt.date | None, expected_date_of_birth: dt.date | None, *, today: dt.date
) -> dict[str, str]:
    """The date rules for a person, shared by the web form and the API: {field: message}."""
    dob, edd = date_of_birth, expected_date_of_birth
    if not dob and not edd:
        return {"date_of_birth": "Enter a date of birth, or an expected date of birth for an unborn child"}
    # Subtract dates rather than add to one: 9999-12-31 plus three weeks overflows.
    if dob and edd and dob - edd > LATE_BIRTH_ALLOWANCE:
        return {
            "date_of_birth": "Date of birth must be no more than 3 weeks after the expected date of birth"
        }
    if edd and not dob and edd - today > EXPECTED_BIRTH_HORIZON:
        return {"expected_date_of_birth": "Expected date of birth must be within the next 10 months"}
    return {}


def disabilities_error(codes: list[str]) -> str | None:
    if "NONE" in codes and len(codes) > 1:
        return "Select 'No disability' or the disabilities that apply, not both"
    return None
