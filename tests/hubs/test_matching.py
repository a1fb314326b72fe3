"""Find the family first: the partnership-wide duplicate check before a request for support."""

import dataclasses
import datetime as dt

import pytest
from django.core import signing

from ehcase.models import User
from ehcase.permissions import grant_family_access
from hubs import matching
from hubs.matching import (
    ExpiredMatchToken,
    InvalidMatchToken,
    MatchCriteriaError,
    family_from_match_token,
    family_matches,
)
from hubs.models import HubArea
from tests.factories import FamilyFactory, FamilyMemberFactory, PersonFactory

pytestmark = pytest.mark.django_db

JOHN_DOB = dt.date(2011, 9, 17)


def north_family(postcode="NE61 5QT", **kwargs):
    return FamilyFactory(area=HubArea.objects.get(name="Morpeth"), postcode=postcode, **kwargs)


def member(family, first, last, dob, **kwargs):
    return FamilyMemberFactory(
        family=family, person=PersonFactory(first_name=first, last_name=last, date_of_birth=dob, **kwargs)
    )


@pytest.fixture
def smiths(personas):
    family = north_family(name="Smith")
    member(family, "John", "Smith", JOHN_DOB)
    member(family, "Tracy", "Smith", dt.date(1984, 1, 20))
    return family


def fresh(user) -> User:
    """The user as a new request sees them: roles not yet read."""
    return User.objects.get(pk=user.pk)


def test_a_misspelt_name_is_found_by_date_of_birth(personas, smiths):
    [match] = family_matches(
        user=personas.morgan, first_name="Jon", last_name="Smyth", date_of_birth=JOHN_DOB
    )

    assert match.visible
    assert match.details.family_id == smiths.id
    assert match.details.person_name == "John Smith"
    assert match.details.date_of_birth == JOHN_DOB
    assert match.details.date_of_birth_agrees
    assert matching.NAME_THRESHOLD <= match.details.name_similarity < 0.5
    assert match.details.score == pytest.approx(match.details.name_similarity + matching.DOB_BOOST, abs=0.002)


def test_a_different_date_of_birth_still_matches_by_postcode(personas, smiths):
    for typed in ("ne61 5qt", "NE615QT", "NE61 5"):
        [match] = family_matches(
            user=personas.morgan,
            first_name="Jon",
            last_name="Smyth",
            date_of_birth=dt.date(2012, 9, 18),
            postcode=typed,
        )
        assert match.details.family_id == smiths.id
        assert match.details.postcode_agrees
        assert not match.details.date_of_birth_agrees
        assert match.details.postcode == "NE61 5QT"


def test_the_same_name_elsewhere_and_at_another_date_of_birth_is_not_a_match(personas, smiths):
    assert (
        family_matches(user=personas.morgan, first_name="John", last_name="Smith", postcode="NE61 6QT") == []
    )
    assert (
        family_matches(
            user=personas.morgan, first_name="John", last_name="Smith", date_of_birth=dt.date(2011, 9, 18)
        )
        == []
    )


def test_a_family_the_requester_cannot_see_shows_only_its_hub_and_a_token(personas):
    evans = personas.evans
    [match] = family_matches(
        user=personas.sam, first_name="Owen", last_name="Evans", date_of_birth=dt.date(2013, 4, 4)
    )

    assert match.visible is False
    assert match.hub == "South hub"
    assert match.details is None
    as_dict = dataclasses.asdict(match)
    assert set(as_dict) == {"visible", "hub", "token", "details"}
    serialised = f"{as_dict} {match!r} {match}"
    for secret in ("Evans", "Owen", "2013", "NE46", "F-DEMOEVA", "Hexham"):
        assert secret not in serialised
    # Nothing but the token could carry a number, and the token does not carry the family id in clear.
    assert not any(c.isdigit() for c in str({k: v for k, v in as_dict.items() if k != "token"}))
    payload = signing.loads(match.token, salt=matching.TOKEN_SALT)
    assert set(payload) == {"u", "n", "c"}
    assert payload["u"] == personas.sam.pk
    assert matching._unb64(payload["c"]) != evans.id.to_bytes(8, "big")
    assert family_from_match_token(match.token, user=personas.sam) == evans.id


def test_a_family_the_requester_can_see_is_shown_in_full(personas):
    ashworth = personas.ashworth
    [match] = family_matches(
        user=personas.sam,
        first_name="Jayden",
        last_name="Ashworth",
        date_of_birth=dt.date(2016, 2, 3),
        postcode="NE61 1AA",
    )

    assert match.visible
    assert match.hub == "North hub"
    details = match.details
    assert (details.family_id, details.family_name, details.reference) == (
        ashworth.id,
        "Ashworth",
        "F-DEMOASH",
    )
    assert (details.person_name, details.date_of_birth) == ("Jayden Ashworth", dt.date(2016, 2, 3))
    assert details.postcode == "NE61 1AA"
    assert details.date_of_birth_agrees and details.postcode_agrees
    # The best-matching person of the family, not Kerry or Mia (also candidates at that postcode).
    assert details.name_similarity == 1.0
    assert family_from_match_token(match.token, user=personas.sam) == ashworth.id


def test_hidden_matches_for_one_family_collapse_to_one(personas):
    # Rhian and Owen both match "Evans" at the family's postcode.
    matches = family_matches(user=personas.sam, last_name="Evans", postcode="NE46 1AA")
    assert [(m.visible, m.hub) for m in matches] == [(False, "South hub")]

    # Ola sees the same family once, through its best-matching person.
    [match] = family_matches(user=personas.ola, first_name="Rhian", last_name="Evans", postcode="NE46 1AA")
    assert match.details.person_name == "Rhian Evans"


def test_visible_and_hidden_matches_are_ranked_together(personas):
    """Sam sees Ashworth but not Dixon: both are in the results, best first."""
    dixon = personas.dixon
    member(dixon, "Jaden", "Ashworth", dt.date(2016, 2, 3))
    matches = family_matches(
        user=personas.sam, first_name="Jayden", last_name="Ashworth", date_of_birth=dt.date(2016, 2, 3)
    )
    assert [(m.visible, m.hub) for m in matches] == [(True, "North hub"), (False, "North hub")]
    assert matches[0].details.family_id == personas.ashworth.id
    assert family_from_match_token(matches[1].token) == dixon.id


def test_a_name_below_the_threshold_is_not_a_match(personas):
    jayden_dob = dt.date(2016, 2, 3)
    assert (
        family_matches(user=personas.morgan, first_name="Zara", last_name="Quinn", date_of_birth=jayden_dob)
        == []
    )
    assert (
        family_matches(user=personas.sam, first_name="Zara", last_name="Quinn", date_of_birth=jayden_dob)
        == []
    )


def test_day_and_month_swapped_is_a_weaker_match(personas):
    [match] = family_matches(
        user=personas.sam, first_name="Jayden", last_name="Ashworth", date_of_birth=dt.date(2016, 3, 2)
    )
    assert match.details.person_name == "Jayden Ashworth"
    assert not match.details.date_of_birth_agrees
    assert match.details.score == pytest.approx(1.0 + matching.DOB_SWAPPED_BOOST)


def test_known_as_and_a_single_name(personas):
    family = north_family()
    member(family, "William", "Hartley", JOHN_DOB, known_as="Bill")
    [by_known_as] = family_matches(
        user=personas.morgan, first_name="Bill", last_name="Hartley", date_of_birth=JOHN_DOB
    )
    [by_first] = family_matches(user=personas.morgan, first_name="Bill", date_of_birth=JOHN_DOB)
    [by_last] = family_matches(user=personas.morgan, last_name="Hartly", date_of_birth=JOHN_DOB)
    assert {by_known_as.details.family_id, by_first.details.family_id, by_last.details.family_id} == {
        family.id
    }
    assert by_known_as.details.known_as == "Bill"


def test_an_exact_date_of_birth_ranks_above_a_postcode_only_match(personas):
    at_postcode = north_family(postcode="NE61 7XY")
    member(at_postcode, "John", "Smith", dt.date(2010, 1, 1))
    born_that_day = north_family(postcode="NE63 2AB")
    member(born_that_day, "John", "Smith", JOHN_DOB)
    matches = family_matches(
        user=personas.morgan,
        first_name="John",
        last_name="Smith",
        date_of_birth=JOHN_DOB,
        postcode="NE61 7XY",
    )
    assert [m.details.family_id for m in matches] == [born_that_day.id, at_postcode.id]


def test_a_withheld_address_is_not_matched_by_postcode_and_hides_the_hub(personas):
    family = north_family(postcode="NE61 8RR", address_withheld=True)
    member(family, "Lily", "Marsh", dt.date(2018, 5, 6))

    assert (
        family_matches(user=personas.morgan, first_name="Lily", last_name="Marsh", postcode="NE61 8RR") == []
    )
    [hidden] = family_matches(
        user=personas.sam, first_name="Lily", last_name="Marsh", date_of_birth=dt.date(2018, 5, 6)
    )
    assert (hidden.visible, hidden.hub, hidden.details) == (False, None, None)
    assert family_from_match_token(hidden.token) == family.id
    [shown] = family_matches(
        user=personas.morgan, first_name="Lily", last_name="Marsh", date_of_birth=dt.date(2018, 5, 6)
    )
    assert (shown.hub, shown.details.postcode, shown.details.address_withheld) == ("North hub", "", True)


def test_the_number_of_queries_does_not_grow_with_candidates(personas, django_assert_num_queries):
    dob = dt.date(2009, 6, 30)

    def search():
        sam = fresh(personas.sam)
        # roles and their hubs (cached on the user afterwards), ranked matches, visibility of the results
        with django_assert_num_queries(4):
            return family_matches(user=sam, first_name="John", last_name="Smith", date_of_birth=dob, limit=50)

    first = north_family()
    member(first, "John", "Smith", dob)
    assert len(search()) == 1

    for i in range(29):
        family = north_family()
        member(family, "Jon" if i % 2 else "John", "Smith", dob)
        member(family, "Johnny", "Smyth", dob)  # a second candidate in the same family
        if i % 5 == 0:
            grant_family_access(user=personas.sam, family=family)
    matches = search()
    assert len(matches) == 30
    assert sum(m.visible for m in matches) == 6


def test_the_limit_counts_families(personas):
    dob = dt.date(2009, 6, 30)
    for _ in range(4):
        member(north_family(), "John", "Smith", dob)
    assert len(family_matches(user=personas.morgan, last_name="Smith", date_of_birth=dob, limit=3)) == 3


def test_the_search_must_be_narrowed_by_date_of_birth_or_postcode(personas):
    with pytest.raises(MatchCriteriaError, match="date of birth or a postcode"):
        family_matches(user=personas.sam, first_name="John", last_name="Smith")
    with pytest.raises(ValueError, match="full postcode"):  # a district alone is too broad
        family_matches(user=personas.sam, last_name="Smith", postcode="NE61")
    with pytest.raises(MatchCriteriaError, match="full postcode"):
        family_matches(user=personas.sam, last_name="Smith", postcode="not a postcode")
    # Without a name, both are needed, and a match agrees on both.
    with pytest.raises(MatchCriteriaError, match="name"):
        family_matches(user=personas.sam, date_of_birth=dt.date(2016, 2, 3))
    [match] = family_matches(user=personas.sam, date_of_birth=dt.date(2016, 2, 3), postcode="NE61 1AA")
    assert match.details.person_name == "Jayden Ashworth"
    assert family_matches(user=personas.sam, date_of_birth=dt.date(2016, 2, 3), postcode="NE61 1AB") == []


def test_someone_without_case_data_sees_only_hidden_matches(personas):
    [match] = family_matches(
        user=personas.admin, first_name="Jayden", last_name="Ashworth", date_of_birth=dt.date(2016, 2, 3)
    )
    assert (match.visible, match.hub, match.details) == (False, "North hub", None)


class TestTokens:
    @pytest.fixture
    def token(self, personas):
        [match] = family_matches(
            user=personas.sam, first_name="Owen", last_name="Evans", date_of_birth=dt.date(2013, 4, 4)
        )
        return match.token

    def test_round_trip(self, personas, token):
        assert family_from_match_token(token) == personas.evans.id
        assert family_from_match_token(token, user=personas.sam) == personas.evans.id

    def test_each_token_is_different(self, personas, token):
        again = matching.make_match_token(family_id=personas.evans.id, user=personas.sam)
        assert again != token
        assert family_from_match_token(again) == family_from_match_token(token)

    def test_tampering_is_rejected(self, personas, token):
        value, _, signature = token.rpartition(":")
        flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
        for bad in (f"{value}:{flipped}", "x" + token, token[:-2], "", "not-a-token"):
            with pytest.raises(InvalidMatchToken):
                family_from_match_token(bad)
        # Another family's id cannot be forged into a payload without the key.
        forged = signing.dumps({"u": personas.sam.pk, "n": "AAAA", "c": "AAAA"}, salt="other")
        with pytest.raises(InvalidMatchToken):
            family_from_match_token(forged)

    def test_a_token_belongs_to_the_requester(self, personas, token):
        with pytest.raises(InvalidMatchToken, match="someone else"):
            family_from_match_token(token, user=personas.ola)

    def test_a_token_expires(self, personas, token, monkeypatch):
        import time

        now = time.time()
        monkeypatch.setattr(signing.time, "time", lambda: now + 7 * 3600)
        assert family_from_match_token(token) == personas.evans.id
        monkeypatch.setattr(signing.time, "time", lambda: now + 9 * 3600)
        with pytest.raises(ExpiredMatchToken):
            family_from_match_token(token)
        with pytest.raises(InvalidMatchToken):  # expiry is a kind of invalid token
            family_from_match_token(token)
        assert family_from_match_token(token, max_age=dt.timedelta(hours=10)) == personas.evans.id
