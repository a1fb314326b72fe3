"""Find the family first: the duplicate check a practitioner runs before sending a request for support.

The search covers the whole partnership, not only the families the requester may see, because the point
is to stop a second record being started for a family a hub already holds. What it shows depends on
`ehcase.permissions.families_visible_to` (checked once for all results):

* a family the requester may see: its id, name, reference, postcode, and the best-matching person's name
  and date of birth, with why it matched;
* a family the requester may not see: only that a possible match exists, the hub that holds it, and an
  opaque token to send the request against. No name, date of birth, postcode, reference or family id,
  not even inside the token (the id is encrypted, not merely signed).

Rules (DESIGN.md §9, "narrow first, then rank"):

* Narrowing. A date of birth or a postcode is required: candidates are the members of families with a
  person born on that date (or on the date with day and month swapped when both are 12 or less, a common
  slip) and/or the members of families at that postcode, both through btree indexes. Never a name-only
  trigram scan. The postcode is a full postcode ("NE61 1AA", exact match, with or without the space as
  stored) or an outward code and sector ("NE61 1", every postcode in the sector); a district alone
  ("NE61") is too broad and refused. Families whose address is withheld are never matched by postcode
  (they are found by name and date of birth only).
* Name. Without a name both a date of birth and a postcode are required, and a match must agree on both.
  With a name, the trigram similarity of what was typed against the person's names must reach
  `NAME_THRESHOLD` (pg_trgm's default 0.3): first and last name against "first last" (and "known as last"),
  a last name alone against the last name, a first name alone against the first name or known-as name.
  "Jon Smyth" against "John Smith" is 0.31.
* Ranking. score = name similarity + `DOB_BOOST` for the same date of birth (`DOB_SWAPPED_BOOST` for day
  and month swapped) + `POSTCODE_BOOST` for the same full postcode (`SECTOR_BOOST` when a sector was typed).
  One result per family (its best-matching person, current members before past ones), best first, at most
  `limit` (1 to `MAX_LIMIT`) families.
* Cost. Four queries whatever the number of candidates: the user's roles and their hubs (two, cached on
  the user for the request), the ranked matches, and the visibility of the families returned.
* Hub names. A hidden match names the hub that holds the family, except when the family's address is
  withheld for safety: then `hub` is None (the token still routes the request to the right hub), because
  naming the hub would tell the requester roughly where the family lives.
* Tokens. `FamilyMatch.token` (given for visible matches too, so that the request form has one path) is
  signed with `django.core.signing` (salt "hubs.match"), carries the family id encrypted with a
  per-token nonce, names the user it was issued to, and lasts `MATCH_TOKEN_MAX_AGE` (8 hours: a working
  session; after that the practitioner runs the check again). `family_from_match_token` verifies it.

The caller audits: a search that shows visible families reads personal data (DESIGN.md §4).
"""

from __future__ import annotations

import base64
import datetime as dt
import os
import re
from dataclasses import dataclass

from django.core import signing
from django.db import connection
from django.utils.crypto import salted_hmac

from ehcase.models import Family, FamilyMember, Person, User
from ehcase.permissions import families_visible_to

from .models import Hub

NAME_THRESHOLD = 0.3
DOB_BOOST = 0.5
DOB_SWAPPED_BOOST = 0.2
POSTCODE_BOOST = 0.3
SECTOR_BOOST = 0.15
MAX_LIMIT = 50
MATCH_TOKEN_MAX_AGE = dt.timedelta(hours=8)
TOKEN_SALT = "hubs.match"
_CIPHER_SALT = "hubs.match.family-id"
_NAME_MAX = 80  # the model's max_length: longer input cannot be a closer match

_FULL_POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})$")
_SECTOR = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?) (\d)$")


class MatchCriteriaError(ValueError):
    """The search is too broad or malformed; the message can be shown to the user as it is."""


class InvalidMatchToken(ValueError):
    """The token was not issued by this service, was altered, or was issued to someone else."""


class ExpiredMatchToken(InvalidMatchToken):
    """The token is genuine but older than its lifetime: run the check again."""


@dataclass(frozen=True)
class MatchDetails:
    """What a requester who may see the family is shown."""

    family_id: int
    family_name: str
    reference: str
    postcode: str  # "" when the address is withheld
    address_withheld: bool
    person_id: int
    person_name: str
    known_as: str
    date_of_birth: dt.date | None
    current_member: bool
    name_similarity: float
    date_of_birth_agrees: bool
    postcode_agrees: bool
    score: float


@dataclass(frozen=True)
class FamilyMatch:
    """One family that may be the one being searched for.

    Hidden (visible=False): only `hub` (None when the family's address is withheld) and `token`.
    Visible: `details` as well."""

    visible: bool
    hub: str | None
    token: str
    details: MatchDetails | None = None


@dataclass(frozen=True)
class _Postcode:
    exact: tuple[str, ...] = ()  # stored forms of a full postcode: with and without the space
    prefixes: tuple[str, ...] = ()  # stored forms of a sector

    @property
    def given(self) -> bool:
        return bool(self.exact or self.prefixes)


def normalise_postcode(value: str) -> _Postcode:
    """A full postcode or an outward code and sector, in the forms a family's postcode may be stored in."""
    compact = " ".join((value or "").upper().split())
    if not compact:
        return _Postcode()
    full = _FULL_POSTCODE.match(compact.replace(" ", ""))
    if full:
        outward, inward = full.groups()
        return _Postcode(exact=(f"{outward} {inward}", f"{outward}{inward}"))
    sector = _SECTOR.match(compact)
    if sector:
        outward, digit = sector.groups()
        return _Postcode(prefixes=(f"{outward} {digit}", f"{outward}{digit}"))
    raise MatchCriteriaError(
        "Enter a full postcode, like NE61 1AA, or the first part and the next number, like NE61 1"
    )


def _swapped(day: dt.date | None) -> dt.date | None:
    """The date with day and month swapped, when that is a different real date."""
    if day is None or day.day > 12 or day.day == day.month:
        return None
    return day.replace(month=day.day, day=day.month)


def _clean_name(value: str) -> str:
    return " ".join((value or "").split())[:_NAME_MAX]


def family_matches(
    *,
    user: User,
    first_name: str = "",
    last_name: str = "",
    date_of_birth: dt.date | None = None,
    postcode: str = "",
    limit: int = 10,
) -> list[FamilyMatch]:
    """Families across the partnership that may be the one described, best first (see the module's
    docstring for the rules). Raises MatchCriteriaError when neither a date of birth nor a postcode is
    given, when a name is missing and not both are given, or when the postcode is malformed or only a
    district."""
    first, last = _clean_name(first_name), _clean_name(last_name)
    place = normalise_postcode(postcode)
    if date_of_birth is None and not place.given:
        raise MatchCriteriaError("Enter a date of birth or a postcode")
    if not (first or last) and not (date_of_birth is not None and place.given):
        raise MatchCriteriaError("Enter a name, or both a date of birth and a postcode")
    limit = max(1, min(int(limit), MAX_LIMIT))

    rows = _ranked_matches(first=first, last=last, date_of_birth=date_of_birth, place=place, limit=limit)
    if not rows:
        return []
    visible_ids = set(
        families_visible_to(user=user)
        .filter(id__in=[r["family_id"] for r in rows])
        .order_by()
        .values_list("id", flat=True)
    )
    matches = []
    for r in rows:
        visible = r["family_id"] in visible_ids
        hub = None if (r["address_withheld"] and not visible) else r["hub_name"]
        token = make_match_token(family_id=r["family_id"], user=user)
        if not visible:
            matches.append(FamilyMatch(visible=False, hub=hub, token=token))
            continue
        details = MatchDetails(
            family_id=r["family_id"],
            family_name=r["family_name"],
            reference=r["reference"],
            postcode="" if r["address_withheld"] else r["postcode"],
            address_withheld=r["address_withheld"],
            person_id=r["person_id"],
            person_name=f"{r['first_name']} {r['last_name']}",
            known_as=r["known_as"],
            date_of_birth=r["date_of_birth"],
            current_member=r["is_current"],
            name_similarity=round(float(r["name_score"]), 3),
            date_of_birth_agrees=r["dob_agrees"],
            postcode_agrees=r["postcode_level"] > 0,
            score=round(float(r["score"]), 3),
        )
        matches.append(FamilyMatch(visible=True, hub=hub, token=token, details=details))
    return matches


def _ranked_matches(
    *, first: str, last: str, date_of_birth: dt.date | None, place: _Postcode, limit: int
) -> list[dict]:
    """One query: candidates through indexes, scored, the best person per family, best families first.

    Only table names from model metadata are interpolated; every value is a bound parameter."""
    person, member, family, hub = (
        Person._meta.db_table,
        FamilyMember._meta.db_table,
        Family._meta.db_table,
        Hub._meta.db_table,
    )
    params: dict = {
        "threshold": NAME_THRESHOLD,
        "dob_boost": DOB_BOOST,
        "swapped_boost": DOB_SWAPPED_BOOST,
        "postcode_boost": POSTCODE_BOOST,
        "sector_boost": SECTOR_BOOST,
        "limit": limit,
    }

    # Candidates: a UNION of indexed lookups (an OR across the two joins would scan every member).
    candidates: list[str] = []
    dob_agrees = dob_swapped = "FALSE"
    if date_of_birth is not None:
        params["dob"] = date_of_birth
        params["dobs"] = [d for d in (date_of_birth, _swapped(date_of_birth)) if d is not None]
        params["swapped"] = _swapped(date_of_birth) or date_of_birth
        candidates.append(
            f"SELECT fm.id FROM {member} fm JOIN {person} p ON p.id = fm.person_id "  # noqa: S608
            "WHERE p.date_of_birth = ANY(%(dobs)s::date[])"
        )
        dob_agrees = "COALESCE(p.date_of_birth = %(dob)s::date, FALSE)"
        dob_swapped = "COALESCE(p.date_of_birth = %(swapped)s::date, FALSE)"
    postcode_level = "0"
    if place.given:
        if place.exact:
            # Equality on UPPER(postcode): the family_postcode_upper index.
            params["postcodes"] = list(place.exact)
            at_place = "UPPER(f.postcode) = ANY(%(postcodes)s::text[])"
            level = "2"
        else:
            # A range on the same index (LIKE does not use it unless the collation is "C"), with LIKE to
            # make the prefix exact under any collation.
            ranges = []
            for i, prefix in enumerate(place.prefixes):
                params[f"lo{i}"] = prefix
                params[f"hi{i}"] = prefix[:-1] + chr(ord(prefix[-1]) + 1)
                params[f"like{i}"] = prefix + "%"
                ranges.append(
                    f"(UPPER(f.postcode) >= %(lo{i})s AND UPPER(f.postcode) < %(hi{i})s "
                    f"AND UPPER(f.postcode) LIKE %(like{i})s)"
                )
            at_place = "(" + " OR ".join(ranges) + ")"
            level = "1"
        candidates.append(
            f"SELECT fm.id FROM {family} f JOIN {member} fm ON fm.family_id = f.id "  # noqa: S608
            f"WHERE {at_place} AND NOT f.address_withheld"
        )
        postcode_level = f"CASE WHEN {at_place} AND NOT f.address_withheld THEN {level} ELSE 0 END"

    if first and last:
        params["name"] = f"{first} {last}"
        name_score = (
            "GREATEST(similarity(UPPER(p.first_name || ' ' || p.last_name), UPPER(%(name)s)), "
            "CASE WHEN p.known_as <> '' "
            "THEN similarity(UPPER(p.known_as || ' ' || p.last_name), UPPER(%(name)s)) ELSE 0 END)"
        )
    elif last:
        params["name"] = last
        name_score = "similarity(UPPER(p.last_name), UPPER(%(name)s))"
    elif first:
        params["name"] = first
        name_score = (
            "GREATEST(similarity(UPPER(p.first_name), UPPER(%(name)s)), "
            "CASE WHEN p.known_as <> '' THEN similarity(UPPER(p.known_as), UPPER(%(name)s)) ELSE 0 END)"
        )
    else:
        name_score = "0"
    # Without a name, both a date of birth and a postcode were given: a match agrees on both.
    rule = "name_score >= %(threshold)s" if (first or last) else "dob_agrees AND postcode_level > 0"

    sql = f"""
        WITH candidate AS ({" UNION ".join(candidates)}),
        scored AS (
            SELECT fm.family_id, fm.person_id, fm.end_date IS NULL AS is_current,
                   {name_score} AS name_score,
                   {dob_agrees} AS dob_agrees,
                   {dob_swapped} AS dob_swapped,
                   {postcode_level} AS postcode_level
            FROM candidate c
            JOIN {member} fm ON fm.id = c.id
            JOIN {person} p ON p.id = fm.person_id
            JOIN {family} f ON f.id = fm.family_id
        ),
        best AS (
            SELECT DISTINCT ON (family_id) family_id, person_id, is_current, name_score, dob_agrees,
                   postcode_level,
                   name_score
                   + CASE WHEN dob_agrees THEN %(dob_boost)s WHEN dob_swapped THEN %(swapped_boost)s
                          ELSE 0 END
                   + CASE postcode_level WHEN 2 THEN %(postcode_boost)s WHEN 1 THEN %(sector_boost)s
                          ELSE 0 END AS score
            FROM scored
            WHERE {rule}
            ORDER BY family_id, score DESC, is_current DESC, person_id
        )
        SELECT b.family_id, b.person_id, b.is_current, b.name_score, b.dob_agrees, b.postcode_level,
               b.score, f.name AS family_name, f.reference, f.postcode, f.address_withheld,
               h.name AS hub_name, p.first_name, p.last_name, p.known_as, p.date_of_birth
        FROM best b
        JOIN {family} f ON f.id = b.family_id
        JOIN {hub} h ON h.id = f.hub_id
        JOIN {person} p ON p.id = b.person_id
        ORDER BY b.score DESC, b.family_id
        LIMIT %(limit)s
    """  # noqa: S608 - table names from model metadata; values are parameters
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        columns = [c.name for c in cursor.description]
        return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


# -- tokens ---------------------------------------------------------------------------------------------


def _keystream(nonce: bytes) -> bytes:
    return salted_hmac(_CIPHER_SALT, nonce, algorithm="sha256").digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_match_token(*, family_id: int, user: User) -> str:
    """A signed token naming the family without revealing its id: the id is XORed with a keystream
    derived (HMAC-SHA256 of SECRET_KEY) from a random nonce, so two tokens for one family differ."""
    nonce = os.urandom(12)
    cipher = bytes(a ^ b for a, b in zip(int(family_id).to_bytes(8, "big"), _keystream(nonce), strict=False))
    return signing.dumps({"u": user.pk, "n": _b64(nonce), "c": _b64(cipher)}, salt=TOKEN_SALT)


def family_from_match_token(
    token: str, max_age: dt.timedelta | int | None = MATCH_TOKEN_MAX_AGE, *, user: User | None = None
) -> int:
    """The family id a match token stands for. Raises ExpiredMatchToken when it is older than `max_age`,
    InvalidMatchToken when it was altered, malformed, or (if `user` is given, as the request form should)
    issued to someone else. Only the current SECRET_KEY is accepted: after a key rotation the check is
    run again."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=max_age, fallback_keys=[])
    except signing.SignatureExpired as exc:
        raise ExpiredMatchToken("This match has expired: run the check again") from exc
    except signing.BadSignature as exc:
        raise InvalidMatchToken("This match token is not valid") from exc
    try:
        nonce, cipher, issued_to = _unb64(payload["n"]), _unb64(payload["c"]), payload["u"]
    except (TypeError, KeyError, ValueError) as exc:
        raise InvalidMatchToken("This match token is not valid") from exc
    if len(cipher) != 8 or len(nonce) != 12:
        raise InvalidMatchToken("This match token is not valid")
    if user is not None and issued_to != user.pk:
        raise InvalidMatchToken("This match was found by someone else: run the check yourself")
    return int.from_bytes(bytes(a ^ b for a, b in zip(cipher, _keystream(nonce), strict=False)), "big")
