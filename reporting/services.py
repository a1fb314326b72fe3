"""Performance figures as stored snapshots, and their comparison with earlier quarters.

The dashboard, exports, board pack and API never calculate on the request path when a snapshot exists:
they read `reporting.models.Snapshot` rows (one per quarter, hub and agency) holding the output of
`reporting.indicators.compute`. A missing snapshot is calculated on first use and stored; the nightly task
(`reporting.tasks.refresh_snapshots`) recalculates the current and previous quarter, and "Recalculate now"
recalculates one scope on demand. Figures are therefore "as at" the snapshot's `computed_at`.

Nothing here checks access: callers pass a scope from `reporting.permissions.scope_for`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ehcase.audit import audit_record, field_changes
from ehcase.models import AuditAction, User

from .indicators import INDICATORS, SECTIONS, Indicator, Scope, Section, compute
from .models import BoardPackCommentary, Snapshot
from .quarters import Quarter

UP, DOWN, SAME = "up", "down", "same"
BETTER, WORSE, NEUTRAL = "better", "worse", "neutral"


@dataclass
class Figures:
    """The indicators of one quarter and scope, as calculated at `computed_at` (compute()'s output)."""

    quarter: Quarter
    scope: Scope
    computed_at: dt.datetime
    data: dict

    def value(self, key: str) -> dict:
        """The value dict of one indicator ({} when this snapshot predates the indicator)."""
        return self.data.get(key) or {}


def _key(quarter: Quarter, scope: Scope) -> dict[str, Any]:
    return {"quarter": quarter.slug, "hub_id": scope.hub_id or 0, "agency_id": scope.agency_id or 0}


def _scope_of(hub_id: int, agency_id: int) -> Scope:
    return Scope(hub_id=hub_id or None, agency_id=agency_id or None)


def _figures_from(row: Snapshot, quarter: Quarter, scope: Scope) -> Figures:
    return Figures(quarter=quarter, scope=scope, computed_at=row.computed_at, data=row.data)


def _lock(quarter: Quarter, scope: Scope) -> None:
    """Serialise calculations of one snapshot (held to the end of the transaction): two first visitors
    of a quarter calculate it once, and a recalculation never interleaves with another."""
    key = f"reporting.snapshot:{quarter.slug}:{scope.hub_id or 0}:{scope.agency_id or 0}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


def _store(quarter: Quarter, scope: Scope) -> Figures:
    """Calculate and upsert (INSERT ... ON CONFLICT DO UPDATE on the unique quarter/hub/agency key)."""
    data = compute(quarter, scope)
    computed_at = timezone.now()
    Snapshot.objects.bulk_create(
        [Snapshot(**_key(quarter, scope), computed_at=computed_at, data=data)],
        update_conflicts=True,
        unique_fields=["quarter", "hub_id", "agency_id"],
        update_fields=["computed_at", "data"],
    )
    return Figures(quarter=quarter, scope=scope, computed_at=computed_at, data=data)


def figures(quarter: Quarter, scope: Scope, *, refresh: bool = False) -> Figures:
    """The stored figures of the quarter and scope, calculated and stored first when there are none (or
    when `refresh` asks for a recalculation). One query when the snapshot exists.

    Callers: views and tasks that have already checked the user may see `scope`."""
    if not refresh:
        row = Snapshot.objects.filter(**_key(quarter, scope)).only("computed_at", "data").first()
        if row is not None:
            return _figures_from(row, quarter, scope)
    with transaction.atomic():
        _lock(quarter, scope)
        if not refresh:
            # Someone else may have calculated it while we waited for the lock.
            row = Snapshot.objects.filter(**_key(quarter, scope)).only("computed_at", "data").first()
            if row is not None:
                return _figures_from(row, quarter, scope)
        return _store(quarter, scope)


def figures_for_quarters(quarters: list[Quarter], scope: Scope) -> list[Figures]:
    """The figures of several quarters of one scope, in the order given: one query for the stored ones,
    a calculation for each missing one."""
    wanted = {q.slug: q for q in quarters}
    rows = {
        row.quarter: row
        for row in Snapshot.objects.filter(
            quarter__in=list(wanted), hub_id=scope.hub_id or 0, agency_id=scope.agency_id or 0
        ).only("quarter", "computed_at", "data")
    }
    result = []
    for quarter in quarters:
        row = rows.get(quarter.slug)
        result.append(_figures_from(row, quarter, scope) if row is not None else figures(quarter, scope))
    return result


def calculated_at(quarters: list[Quarter], scope: Scope) -> dict[str, dt.datetime]:
    """When each stored snapshot of these quarters and this scope was calculated, by quarter slug (the
    missing ones are absent): one query, without the figures themselves."""
    return dict(
        Snapshot.objects.filter(
            quarter__in=[q.slug for q in quarters], hub_id=scope.hub_id or 0, agency_id=scope.agency_id or 0
        ).values_list("quarter", "computed_at")
    )


# --- Comparisons -------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def direction_of(current: Any, previous: Any) -> str | None:
    """ "up", "down" or "same" from the previous value to the current one; None when either is missing."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return None
    # Values are stored rounded by the engine; compare at the precision shown (no "up 0.0").
    difference = round(now - before, 6)
    if difference > 0:
        return UP
    if difference < 0:
        return DOWN
    return SAME


def judgement_of(direction: str | None, up_is_good: bool | None) -> str | None:
    """Whether the direction of travel is good news: "better", "worse" or "neutral" (no change, or an
    indicator where neither way is better); None when there is no direction (a figure is missing)."""
    if direction is None:
        return None
    if direction == SAME or up_is_good is None:
        return NEUTRAL
    return BETTER if (direction == UP) == up_is_good else WORSE


def _plain(number: float) -> str:
    if float(number).is_integer():
        return f"{int(number):,}"
    return f"{number:,.1f}" if abs(number) >= 10 else f"{number:,.2f}".rstrip("0").rstrip(".")


def format_value(value: Any, unit: str) -> str:
    """A figure as shown in tables and charts: "1,234", "42.5%", "12.5 days", "1.25"."""
    number = _number(value)
    if number is None:
        return "No figure"
    if unit == "percent":
        return f"{number:.1f}%"
    if unit == "days":
        text = _plain(round(number, 1))
        return f"{text} day" if text == "1" else f"{text} days"
    if unit in ("score", "mean"):
        return _plain(round(number, 2))
    return _plain(number)


def format_change(current: Any, previous: Any, unit: str) -> str:
    """The size of the change in words: "12", "2.5 percentage points", "3 days"."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return ""
    size = abs(now - before)
    if unit == "percent":
        text = f"{size:.1f}"
        return f"{text} percentage point" + ("" if text == "1.0" else "s")
    return format_value(size, unit)


DIRECTION_WORDS = {UP: "Up", DOWN: "Down", SAME: "No change"}
DIRECTION_ARROWS = {UP: "↑", DOWN: "↓", SAME: "→"}
JUDGEMENT_WORDS = {BETTER: "Better", WORSE: "Worse", NEUTRAL: "Neither better nor worse"}


class _Texts:
    """What a comparison shows, in words: shared by indicators and their rows."""

    current: dict
    previous: dict
    year_before: dict
    direction: str | None
    judgement: str | None

    @property
    def unit(self) -> str:
        raise NotImplementedError

    @property
    def value(self) -> Any:
        return self.current.get("value")

    @property
    def previous_value(self) -> Any:
        return self.previous.get("value")

    @property
    def year_before_value(self) -> Any:
        return self.year_before.get("value")

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.unit)

    @property
    def previous_text(self) -> str:
        return format_value(self.previous_value, self.unit)

    @property
    def year_before_text(self) -> str:
        return format_value(self.year_before_value, self.unit)

    @property
    def arrow(self) -> str:
        """↑, ↓ or → (shown with the words; hidden from screen readers, which read the words)."""
        return DIRECTION_ARROWS.get(self.direction or "", "")

    @property
    def direction_word(self) -> str:
        """ "Up", "Down", "No change", or "Not comparable" when a figure is missing."""
        return DIRECTION_WORDS.get(self.direction or "", "Not comparable")

    @property
    def direction_label(self) -> str:
        """ "Up 12 from 40", "Down 2.5 percentage points from 40.0%", "No change from 40", or why not."""
        if self.direction is None:
            if _number(self.value) is None:
                return "No figure this quarter"
            return "No figure for the previous quarter"
        if self.direction == SAME:
            return f"No change from {self.previous_text}"
        return (
            f"{DIRECTION_WORDS[self.direction]} {format_change(self.value, self.previous_value, self.unit)} "
            f"from {self.previous_text}"
        )

    @property
    def judgement_label(self) -> str:
        """ "Better", "Worse", "Neither better nor worse", or "" when there is no direction."""
        return JUDGEMENT_WORDS.get(self.judgement or "", "")


@dataclass
class RowComparison(_Texts):
    """One row of a breakdown (an agency, an outcome area, an age band) in the three quarters."""

    key: str
    label: str
    current: dict
    previous: dict
    year_before: dict
    direction: str | None
    judgement: str | None
    row_unit: str = "count"

    @property
    def unit(self) -> str:
        return self.row_unit

    @property
    def drillable(self) -> bool:
        return has_families(self.current, self.unit)


@dataclass
class Comparison(_Texts):
    """One indicator in the chosen quarter, the previous quarter and the same quarter a year before.

    `current`, `previous` and `year_before` are the value dicts of compute() ({} when a snapshot has no
    entry for the indicator). `direction` compares the current value with the previous quarter's;
    `judgement` says whether that is better or worse given the indicator's `up_is_good`."""

    indicator: Indicator
    current: dict
    previous: dict
    year_before: dict
    direction: str | None
    judgement: str | None
    rows: list[RowComparison] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.indicator.key

    @property
    def unit(self) -> str:
        return self.indicator.unit

    @property
    def up_is_good_label(self) -> str:
        if self.indicator.up_is_good is None:
            return "Neither up nor down is better"
        return "Up is better" if self.indicator.up_is_good else "Down is better"

    @property
    def has_rows(self) -> bool:
        return bool(self.rows)

    @property
    def drillable(self) -> bool:
        return has_families(self.current, self.unit)


def has_families(value: dict, unit: str) -> bool:
    """Whether a figure has families behind it to list: a count above zero, a percentage whose numerator
    is above zero, an average over a population that is not empty."""
    if not value:
        return False
    if unit == "percent":
        return (_number(value.get("numerator")) or 0) > 0
    if unit == "count":
        return (_number(value.get("value")) or 0) > 0
    denominator = _number(value.get("denominator"))
    if denominator is not None:
        return denominator > 0
    return _number(value.get("value")) is not None


def _missing_row(indicator: Indicator, figure: dict) -> dict:
    """A category absent from a quarter's breakdown: none of them (0) for a count, when that quarter has the
    indicator at all (the engine lists only the agencies or hubs that had any); no figure otherwise."""
    if indicator.unit == "count" and figure and figure.get("value") is not None:
        return {"value": 0, "numerator": 0, "denominator": figure.get("value")}
    return {}


def _row_comparisons(
    indicator: Indicator, current: dict, previous: dict, year_before: dict
) -> list[RowComparison]:
    """The breakdown's categories in all three quarters: this quarter's in its order, then any that only
    earlier quarters have (an agency with requests last quarter and none now)."""
    quarters = [
        {str(row["key"]): row for row in figure.get("rows") or []}
        for figure in (current, previous, year_before)
    ]
    labels: dict[str, str] = {}
    for rows in quarters:
        for key, row in rows.items():
            labels.setdefault(key, row.get("label") or key)
    result = []
    for key, label in labels.items():
        now, before, year = (
            rows.get(key) or _missing_row(indicator, figure)
            for rows, figure in zip(quarters, (current, previous, year_before), strict=True)
        )
        direction = direction_of(now.get("value"), before.get("value"))
        result.append(
            RowComparison(
                key=key,
                label=label,
                current=now,
                previous=before,
                year_before=year,
                direction=direction,
                judgement=judgement_of(direction, indicator.up_is_good),
                row_unit=indicator.unit,
            )
        )
    return result


def compare(indicator: Indicator, current: dict, previous: dict, year_before: dict) -> Comparison:
    direction = direction_of(current.get("value"), previous.get("value"))
    return Comparison(
        indicator=indicator,
        current=current,
        previous=previous,
        year_before=year_before,
        direction=direction,
        judgement=judgement_of(direction, indicator.up_is_good),
        rows=_row_comparisons(indicator, current, previous, year_before),
    )


def comparisons_with_figures(
    quarter: Quarter, scope: Scope
) -> tuple[Figures, list[tuple[Section, list[Comparison]]]]:
    """The chosen quarter's figures (for "calculated at") and every indicator compared with the previous
    quarter and the same quarter a year before, by section: one snapshot query when all three exist."""
    current, previous, year_before = figures_for_quarters(
        [quarter, quarter.previous(), quarter.year_before()], scope
    )
    sections = []
    for section in SECTIONS:
        items = []
        for key in section.indicators:
            indicator = INDICATORS[key]
            items.append(compare(indicator, current.value(key), previous.value(key), year_before.value(key)))
        sections.append((section, items))
    return current, sections


def comparisons(quarter: Quarter, scope: Scope) -> list[tuple[Section, list[Comparison]]]:
    """Every indicator of the quarter beside the previous quarter and the same quarter a year before."""
    return comparisons_with_figures(quarter, scope)[1]


# --- The nightly refresh -----------------------------------------------------------------------


def refresh_recent(*, today: dt.date | None = None) -> int:
    """Recalculate the current and previous quarter for every scope already stored (someone looked at
    it), every hub together, each hub and each agency that has an agency manager; and calculate, where
    missing, the quarters the dashboard compares those two with (the quarter before the previous one and
    the same quarters a year before), so that the first view of the day reads stored figures. Returns how
    many snapshots were calculated.

    Called by the Celery task `reporting.tasks.refresh_snapshots` (nightly); each snapshot is its own
    transaction, so a failure part way keeps what was already refreshed and a rerun is harmless."""
    from ehcase.models import Membership, Role
    from hubs.models import Hub

    today = today or timezone.localdate()
    current = Quarter.containing(today)
    previous = current.previous()
    recent = [current, previous]
    comparators = [previous.previous(), current.year_before(), previous.year_before()]
    scopes: set[tuple[int, int]] = {(0, 0)}
    scopes.update((hub_id, 0) for hub_id in Hub.objects.values_list("id", flat=True))
    managed = Membership.objects.filter(role=Role.AGENCY_MANAGER).values_list("agency_id", flat=True)
    scopes.update((0, agency_id) for agency_id in managed)
    scopes.update(Snapshot.objects.values_list("hub_id", "agency_id").distinct())
    stored = set(
        Snapshot.objects.filter(quarter__in=[q.slug for q in comparators]).values_list(
            "quarter", "hub_id", "agency_id"
        )
    )
    count = 0
    for hub_id, agency_id in sorted(scopes):
        scope = _scope_of(hub_id, agency_id)
        for quarter in recent:
            figures(quarter, scope, refresh=True)
            count += 1
        for quarter in comparators:
            if (quarter.slug, hub_id, agency_id) not in stored:
                figures(quarter, scope)
                count += 1
    return count


# --- Board pack commentary ---------------------------------------------------------------------


def text_digest(text: str) -> str:
    """A short fingerprint of a commentary text: the form carries the one the user was shown, so a box
    they left alone is not taken as a change (and does not collide with someone else's newer save)."""
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class CommentaryEdit:
    section: str
    text: str
    version: int  # the version the user's text started from (0: nothing was saved then)
    loaded_digest: str  # text_digest of the text they were shown


def _lock_board_pack(quarter: Quarter, scope: Scope) -> None:
    """Serialise saves of one board pack's commentary (to the end of the transaction): two first saves of
    a section cannot both create it, and versions are read and written without interleaving."""
    key = f"reporting.board-pack:{quarter.slug}:{scope.hub_id or 0}:{scope.agency_id or 0}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [key])


@transaction.atomic
def board_pack_commentary_save(
    *, actor: User, quarter: Quarter, scope: Scope, edits: list[CommentaryEdit]
) -> dict[str, BoardPackCommentary | None]:
    """Save the commentary the user changed, all or nothing. Returns the sections whose commentary someone
    else saved after the user read it ({section: the row now saved}); when there are any, nothing is
    saved, so no one's text is ever silently overwritten. A box the user left as they found it is not a
    change. Each row saved is audited (create or update, with the text before and after).

    Callers: the board pack view, after checking may_write_commentary."""
    _lock_board_pack(quarter, scope)
    key = {"quarter": quarter.slug, "hub_id": scope.hub_id or 0, "agency_id": scope.agency_id or 0}
    saved = {
        row.section: row for row in BoardPackCommentary.objects.filter(**key).select_related("updated_by")
    }
    conflicts: dict[str, BoardPackCommentary | None] = {}
    changes: list[tuple[CommentaryEdit, BoardPackCommentary | None]] = []
    for edit in edits:
        row = saved.get(edit.section)
        if edit.text == (row.text if row else ""):
            continue
        if edit.version == (row.version if row else 0):
            changes.append((edit, row))
        elif text_digest(edit.text) != edit.loaded_digest:
            conflicts[edit.section] = row
    if conflicts:
        return conflicts
    for edit, row in changes:
        if row is None:
            row = BoardPackCommentary.objects.create(
                **key, section=edit.section, text=edit.text, version=1, updated_by=actor
            )
            action, before = AuditAction.CREATE, {}
        else:
            before = {"text": row.text, "version": row.version}
            row.text, row.version, row.updated_by = edit.text, row.version + 1, actor
            row.save(update_fields=["text", "version", "updated_by", "updated_at"])
            action = AuditAction.UPDATE
        audit_record(
            actor=actor,
            action=action,
            obj=row,
            summary=f"Board pack commentary saved ({edit.section}, {quarter.label})",
            changes=field_changes(before, {"text": row.text, "version": row.version}),
        )
    return {}
