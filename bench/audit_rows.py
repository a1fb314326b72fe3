"""The audit trail of the large tier's families, written in SQL.

``seed_demo --families N`` writes the large tier's records with COPY but, apart from its access
grants, none of the audit events the services would have recorded while those records were made,
nor any of the reads that make up most of a real audit table. DESIGN.md §9 expects "tens of
millions of audit events" for 250,000 families: this module adds them, as the rows
ehcase.audit.audit_record writes (actor and username, action, object type and id, family id, a
summary without personal data, field values only in ``changes``, address, browser and path):

* for every record that exists, the event of the service that makes it: the family created and each
  person added (with their details in ``changes``, as ehcase.services does), each request for
  support sent, each triage decision (after the coordinator opened the request), each episode
  opened and each change of its status, each member joining the Team Around the Family, each TAF
  meeting scheduled and recorded, each review and baseline, each case note, each consent recorded
  and withdrawn, each Early Help Assessment started, completed (per version) and signed off; each
  at the time the record gives (its ``created_at`` or the day it happened), by the user it names;
* reads of the family record ("Family record", "Record history") by the users granted access to
  it (its guardian view grants: the lead, the team, the practitioners the family was allocated to),
  about VIEWS_PER_GRANT each, spread over the family's history;
* sign-ins: before every third of those reads, the two events of a sign-in ("Signed in" and the
  second step), as ehcase.signals and ehcase.two_factor write them.

That is about 45 events a family: about 27 for the records (the large tier's per-family counts of
people, requests, decisions, meetings, reviews, notes...), about 11 reads (of the family record by
its workers, of its requests by the coordinators) and about 7 sign-in events; with the 2 access
grants seed_demo records, about 11.5 million for 250,000 families, which a 2-core machine writes in
about ten minutes. A real council's 25 years would hold several times more reads: VIEWS_PER_GRANT
is the knob.
The access grants seed_demo recorded keep the time they were written (the audit table is
append-only), so in this data a family can be read before its grant's event.

Everything is set-based: per chunk of CHUNK_FAMILIES families (ids in a range), one transaction
holds a temporary table of the chunk's families and one INSERT ... SELECT over the records' own
indexes (family id, episode id); no row passes through Python. A chunk is recorded in
``bench_audit_chunk`` in the same transaction, so an interrupted run resumes where it stopped
and a repeated run writes nothing; families added to the tier later get chunks of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable

LARGE_PREFIX = "F-L"  # ehcase.seeding.LARGE_PREFIX, without importing Django here
CHUNK_FAMILIES = 10_000
VIEWS_PER_GRANT = 4  # mean reads of the family record per view grant

Log = Callable[[str], None]

PROGRESS_TABLE = """
CREATE TABLE IF NOT EXISTS bench_audit_chunk (
    first_family_id bigint PRIMARY KEY,
    last_family_id bigint NOT NULL,
    families integer NOT NULL,
    events bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
)
"""

# The chunk's large-tier families with what every event needs: the day they became known (their
# first chronology line, or a day in the last eight years when they have none), their last day,
# who created them (the referrer of their first request, else the first user granted access) and
# when (that day in office hours, and before their first request). Each LATERAL is one probe of an
# index on family_id.
CHUNK_FAMILIES_SQL = """
CREATE TEMPORARY TABLE bench_audit_family ON COMMIT DROP AS
SELECT f.id AS family_id, f.name, f.address_line_1, f.address_line_2, f.town, f.postcode,
       f.area_id, f.address_withheld, f.young_carer, f.send,
       k.first_on, greatest(coalesce(h.last_on, k.first_on), k.first_on) AS last_on,
       coalesce(r.referrer_id, g.user_id) AS creator,
       least(
           (k.first_on + time '08:30')::timestamp AT TIME ZONE 'Europe/London'
               + make_interval(mins => (hashint8(f.id)::bigint & 1073741823)::int %% 480),
           r.created_at - interval '15 minutes'
       ) AS created_at
FROM ehcase_family f
LEFT JOIN LATERAL (
    SELECT min(c.occurred_on) AS first_on, max(c.occurred_on) AS last_on
    FROM pathway_chronologyentry c WHERE c.family_id = f.id AND c.occurred_on <= current_date
) h ON true
CROSS JOIN LATERAL (
    SELECT coalesce(h.first_on, current_date - 30 - (hashint8(f.id)::bigint & 1073741823)::int %% 2900)
        AS first_on
) k
LEFT JOIN LATERAL (
    SELECT rq.referrer_id, rq.created_at FROM hubs_requestforsupport rq
    WHERE rq.family_id = f.id ORDER BY rq.created_at, rq.id LIMIT 1
) r ON true
LEFT JOIN LATERAL (
    SELECT fp.user_id FROM ehcase_familyuserobjectpermission fp
    WHERE fp.content_object_id = f.id AND fp.permission_id = %(view)s ORDER BY fp.id LIMIT 1
) g ON true
WHERE f.id BETWEEN %(lo)s AND %(hi)s AND f.reference LIKE %(prefix)s
"""


def _h(expr: str) -> str:
    """A deterministic non-negative pseudo-random integer from an integer expression."""
    return f"(hashint8(({expr})::bigint)::bigint & 1073741823)::int"


def _at(day: str, salt: str) -> str:
    """A time in office hours (08:30 to 16:50, local time) on ``day``, chosen by ``salt``."""
    return (
        f"((({day})::date + time '08:30')::timestamp + make_interval(secs => {_h(salt)} %% 30000)) "
        "AT TIME ZONE 'Europe/London'"
    )


def _changes(pairs: str) -> str:
    """``changes`` as field_changes({}, snapshot) makes it: {field: [null, value]} for set fields."""
    return (
        "(SELECT coalesce(jsonb_object_agg(j.key, jsonb_build_array(NULL, j.value)), '{}'::jsonb) "  # noqa: S608
        f"FROM jsonb_each(jsonb_strip_nulls(jsonb_build_object({pairs}))) j)"
    )


# The fragments interpolated below are constants of this module (no value from outside): every value
# is a bound parameter.
READ_AT = _at(
    f"least(current_date, a.first_on + {_h('fp.id * 64 + i')} %% (a.last_on - a.first_on + 31))",
    "fp.id * 64 + i + 7",
)
READS_PER_GRANT = f"1 + {_h('fp.id')} %% {2 * VIEWS_PER_GRANT - 1}"
FAMILY_CHANGES = _changes(
    "'name', a.name, 'address_line_1', a.address_line_1, 'address_line_2', a.address_line_2, "
    "'town', a.town, 'postcode', a.postcode, 'area', a.area_id, "
    "'address_withheld', a.address_withheld, 'young_carer', a.young_carer, 'send', a.send"
)
PERSON_CHANGES = _changes(
    "'first_name', p.first_name, 'last_name', p.last_name, 'known_as', p.known_as, "
    "'date_of_birth', p.date_of_birth, 'expected_date_of_birth', p.expected_date_of_birth, "
    "'sex', p.sex, 'ethnicity', p.ethnicity, 'disabilities', p.disabilities, "
    "'language', p.language, 'nhs_number', p.nhs_number, 'upn', p.upn, "
    "'school_or_setting', p.school_or_setting, 'role', m.role, 'start_date', m.start_date"
)
MEMBER_AT = _at("m.start_date", "m.id")
TEAM_AT = _at("tm.joined_on", "tm.id")
WITHDRAWN_AT = _at("cr.withdrawn_on", "cr.id")
STARTED_AT = _at("s.started_on", "s.id")

# The audit table is partitioned by month (ehcase migration 0009, docs/audit.md): the partitions for the
# chunk's months, from the month before its families' first day (created_at may be earlier) to the months
# ahead, are made before its rows are inserted, so that none waits in the DEFAULT partition. The SQL
# function also moves any rows found in DEFAULT to partitions of their months.
PARTITIONS_SQL = (
    "SELECT count(*) FROM ehcase_audit_partitions_ensure({first}, (current_date + interval '3 months')::date)"
)
CHUNK_FIRST_DAY = "(SELECT coalesce(min(first_on), current_date) - 31 FROM bench_audit_family)"

# Every event as (occurred_at, actor_id, action, object_type, object_id, family_id, summary, changes,
# path). Family-level events join bench_audit_family on family_id; episode-level ones go through
# the chunk's episodes (pathway_episode's family_id index) to their own episode_id indexes.
EVENTS_SQL = f"""
WITH
status(code, label) AS (SELECT * FROM unnest(%(status_codes)s::text[], %(status_labels)s::text[])),
source(code, label) AS (SELECT * FROM unnest(%(source_codes)s::text[], %(source_labels)s::text[])),
decision(code, label) AS (SELECT * FROM unnest(%(decision_codes)s::text[], %(decision_labels)s::text[])),
outcome(code, label) AS (SELECT * FROM unnest(%(outcome_codes)s::text[], %(outcome_labels)s::text[])),
episodes AS MATERIALIZED (
    SELECT e.* FROM pathway_episode e JOIN bench_audit_family a ON a.family_id = e.family_id
    WHERE e.family_id BETWEEN %(lo)s AND %(hi)s
),
reads AS MATERIALIZED (
    SELECT fp.user_id, a.family_id, i,
           {READ_AT} AS at
    FROM ehcase_familyuserobjectpermission fp
    JOIN bench_audit_family a ON a.family_id = fp.content_object_id
    CROSS JOIN LATERAL generate_series(1, {READS_PER_GRANT}) i
    WHERE fp.permission_id = %(view)s AND fp.content_object_id BETWEEN %(lo)s AND %(hi)s
)
SELECT a.created_at, a.creator, 'create', 'ehcase.family', a.family_id::text, a.family_id,
       'Family created',
       {FAMILY_CHANGES},
       '/requests/new/family/'
FROM bench_audit_family a
UNION ALL
SELECT CASE WHEN m.start_date > a.first_on AND m.start_date <= current_date
            THEN {MEMBER_AT}
            ELSE a.created_at + make_interval(mins => 1 + (m.id %% 7)::int) END,
       a.creator, 'create', 'ehcase.person', p.id::text, a.family_id, 'Person added to the family',
       {PERSON_CHANGES},
       '/families/' || a.family_id || '/members/add/'
FROM bench_audit_family a
JOIN ehcase_familymember m ON m.family_id = a.family_id
JOIN ehcase_person p ON p.id = m.person_id
WHERE m.family_id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT r.created_at, r.referrer_id, 'create', 'hubs.requestforsupport', r.id::text, r.family_id,
       'Request for support sent to the hub', '{{}}'::jsonb, '/requests/' || r.id || '/check/'
FROM hubs_requestforsupport r JOIN bench_audit_family a ON a.family_id = r.family_id
WHERE r.family_id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT d.created_at - make_interval(mins => 5 + (d.id %% 50)::int), d.decided_by_id, 'view', '', '',
       r.family_id, 'Request for support ' || r.id, '{{}}'::jsonb, '/requests/' || r.id || '/'
FROM hubs_requestforsupport r JOIN bench_audit_family a ON a.family_id = r.family_id
JOIN hubs_triagedecision d ON d.request_id = r.id
WHERE r.family_id BETWEEN %(lo)s AND %(hi)s AND d.decided_by_id IS NOT NULL
UNION ALL
SELECT d.created_at, d.decided_by_id, 'create', 'hubs.triagedecision', d.id::text, r.family_id,
       CASE WHEN d.supersedes_id IS NULL THEN 'Triage decision: ' ELSE 'Triage decision changed: ' END
           || o.label,
       '{{}}'::jsonb, '/requests/' || r.id || '/decide/'
FROM hubs_requestforsupport r JOIN bench_audit_family a ON a.family_id = r.family_id
JOIN hubs_triagedecision d ON d.request_id = r.id
JOIN outcome o ON o.code = d.outcome
WHERE r.family_id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT e.created_at, coalesce(e.assessor_id, e.lead_professional_id), 'create', 'pathway.episode',
       e.id::text, e.family_id, 'Episode opened (' || lower(s.label) || ')', '{{}}'::jsonb,
       '/families/' || e.family_id || '/early-help/start/'
FROM episodes e JOIN source s ON s.code = e.source
UNION ALL
SELECT t.occurred_at, t.by_id, 'update', 'pathway.episode', e.id::text, e.family_id,
       'Episode ' || lower(f.label) || ' → ' || lower(s.label), '{{}}'::jsonb,
       '/episodes/' || e.id || CASE WHEN t.to_status = 'closed' THEN '/close/' ELSE '/' END
FROM episodes e JOIN pathway_episodetransition t ON t.episode_id = e.id
JOIN status f ON f.code = t.from_status JOIN status s ON s.code = t.to_status
UNION ALL
SELECT {TEAM_AT}, coalesce(e.lead_professional_id, e.assessor_id), 'create',
       'pathway.tafmember', tm.id::text, e.family_id,
       CASE WHEN u.username IS NULL THEN 'Family member joined the Team Around the Family'
            ELSE u.username || ' joined the Team Around the Family' END,
       '{{}}'::jsonb, '/episodes/' || e.id || '/team/add/'
FROM episodes e JOIN pathway_tafmember tm ON tm.episode_id = e.id
LEFT JOIN ehcase_user u ON u.id = tm.user_id
WHERE tm.joined_on <= current_date
UNION ALL
SELECT m.created_at, m.created_by_id, 'create', 'pathway.tafmeeting', m.id::text, e.family_id,
       'TAF meeting scheduled', '{{}}'::jsonb, '/episodes/' || e.id || '/meetings/new/'
FROM episodes e JOIN pathway_tafmeeting m ON m.episode_id = e.id
UNION ALL
SELECT least(m.starts_at + interval '2 hours', now()), m.created_by_id, 'update', 'pathway.tafmeeting',
       m.id::text, e.family_id, 'TAF meeting recorded', '{{}}'::jsonb, '/meetings/' || m.id || '/record/'
FROM episodes e JOIN pathway_tafmeeting m ON m.episode_id = e.id
WHERE m.status = 'held'
UNION ALL
SELECT v.created_at, v.recorded_by_id, 'create', 'pathway.review', v.id::text, e.family_id,
       CASE WHEN v.is_baseline THEN 'Baseline outcome scores recorded'
            ELSE 'Review recorded: ' || lower(d.label) END,
       '{{}}'::jsonb,
       '/episodes/' || e.id || CASE WHEN v.is_baseline THEN '/baseline/' ELSE '/reviews/new/' END
FROM episodes e JOIN pathway_review v ON v.episode_id = e.id
LEFT JOIN decision d ON d.code = v.decision
UNION ALL
SELECT c.created_at, c.author_id, 'create', 'pathway.chronologyentry', c.id::text, c.family_id,
       'Case note added', '{{}}'::jsonb, '/families/' || c.family_id || '/chronology/add/'
FROM pathway_chronologyentry c JOIN bench_audit_family a ON a.family_id = c.family_id
WHERE c.family_id BETWEEN %(lo)s AND %(hi)s AND c.kind = 'note'
UNION ALL
SELECT cr.recorded_at, cr.recorded_by_id, 'create', 'assessments.consentrecord', cr.id::text,
       cr.family_id, 'Consent to early help recorded', '{{}}'::jsonb,
       '/episodes/' || cr.episode_id || '/consent/add/'
FROM assessments_consentrecord cr JOIN bench_audit_family a ON a.family_id = cr.family_id
WHERE cr.family_id BETWEEN %(lo)s AND %(hi)s
UNION ALL
SELECT {WITHDRAWN_AT}, coalesce(cr.withdrawal_recorded_by_id, cr.recorded_by_id),
       'update', 'assessments.consentrecord', cr.id::text, cr.family_id,
       'Consent to early help withdrawn', '{{}}'::jsonb, '/consent/' || cr.id || '/withdraw/'
FROM assessments_consentrecord cr JOIN bench_audit_family a ON a.family_id = cr.family_id
WHERE cr.family_id BETWEEN %(lo)s AND %(hi)s AND cr.withdrawn_on IS NOT NULL
UNION ALL
SELECT {STARTED_AT}, s.assessor_id, 'create', 'assessments.assessment', s.id::text,
       e.family_id, 'Early help assessment started', '{{}}'::jsonb,
       '/episodes/' || e.id || '/assessment/start/'
FROM episodes e JOIN assessments_assessment s ON s.episode_id = e.id
UNION ALL
SELECT v.completed_at, v.completed_by_id, 'update', 'assessments.assessment', s.id::text, e.family_id,
       'Early help assessment completed (version ' || v.number || ')', '{{}}'::jsonb,
       '/assessments/' || s.id || '/check/'
FROM episodes e JOIN assessments_assessment s ON s.episode_id = e.id
JOIN assessments_assessmentversion v ON v.assessment_id = s.id
WHERE v.completed_at IS NOT NULL
UNION ALL
SELECT v.decided_at, v.decided_by_id, 'update', 'assessments.assessment', s.id::text, e.family_id,
       CASE WHEN v.outcome = 'signed_off' THEN 'Early help assessment signed off'
            ELSE 'Early help assessment returned for changes' END,
       jsonb_build_object('status', jsonb_build_array('completed', v.outcome)),
       '/assessments/' || s.id || '/'
FROM episodes e JOIN assessments_assessment s ON s.episode_id = e.id
JOIN assessments_assessmentversion v ON v.assessment_id = s.id
WHERE v.decided_at IS NOT NULL AND v.outcome IN ('signed_off', 'returned')
UNION ALL
SELECT r.at, r.user_id, 'view', '', '', r.family_id,
       CASE WHEN r.i %% 6 = 0 THEN 'Record history' ELSE 'Family record' END, '{{}}'::jsonb,
       '/families/' || r.family_id || CASE WHEN r.i %% 6 = 0 THEN '/history/' ELSE '/' END
FROM reads r
UNION ALL
SELECT r.at - make_interval(mins => 4), r.user_id, 'login', '', '', NULL, 'Signed in', '{{}}'::jsonb,
       '/accounts/login/'
FROM reads r WHERE r.i %% 3 = 1
UNION ALL
SELECT r.at - make_interval(mins => 3), r.user_id, 'login', '', '', NULL,
       'Second step of sign-in: authenticator app code', '{{}}'::jsonb, '/accounts/two-factor/'
FROM reads r WHERE r.i %% 3 = 1
"""  # noqa: S608 - only this module's constant fragments are interpolated

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.6 Mobile/15E148 Safari/604.1",
)

# Each user works from an address of their own in a private range and one of three browsers. The
# generator dates some of today's records (meetings, notes) later today: their events are dated no
# later than the moment they are written, as an audit trail's are.
INSERT_SQL = f"""
INSERT INTO ehcase_auditevent (occurred_at, actor_id, actor_username, action, object_type, object_id,
                               family_id, summary, changes, ip_address, user_agent, path)
SELECT least(e.occurred_at, now()), e.actor_id, coalesce(u.username, ''), e.action, e.object_type,
       e.object_id, e.family_id, left(e.summary, 255), e.changes,
       CASE WHEN e.actor_id IS NOT NULL THEN inet '10.64.0.0' + (e.actor_id %% 262144) END,
       CASE WHEN e.actor_id IS NOT NULL THEN (%(agents)s::text[])[1 + (e.actor_id %% 3)::int] ELSE '' END,
       e.path
FROM ({EVENTS_SQL}) AS e (occurred_at, actor_id, action, object_type, object_id, family_id, summary,
                         changes, path)
LEFT JOIN ehcase_user u ON u.id = e.actor_id
WHERE e.occurred_at IS NOT NULL
"""  # noqa: S608 - EVENTS_SQL is a constant


def _labels() -> dict[str, list[str]]:
    """The choices whose labels appear in the services' summaries (needs Django set up)."""
    from hubs.models import TriageOutcome
    from pathway.models import EpisodeSource, EpisodeStatus, ReviewDecision

    out: dict[str, list[str]] = {}
    for key, choices in (
        ("status", EpisodeStatus),
        ("source", EpisodeSource),
        ("decision", ReviewDecision),
        ("outcome", TriageOutcome),
    ):
        out[f"{key}_codes"] = [str(code) for code, _ in choices.choices]
        out[f"{key}_labels"] = [str(label) for _, label in choices.choices]
    return out


def view_permission_id(cursor) -> int:
    cursor.execute(
        "SELECT p.id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id "
        "WHERE ct.app_label = 'ehcase' AND ct.model = 'family' AND p.codename = 'view_family'"
    )
    return cursor.fetchone()[0]


def pending_chunks(cursor, chunk_families: int = CHUNK_FAMILIES) -> list[tuple[int, int, int]]:
    """(first id, last id, families) of the large-tier families no written chunk covers yet."""
    cursor.execute(
        "SELECT f.id FROM ehcase_family f WHERE f.reference LIKE %s AND NOT EXISTS ("
        "  SELECT 1 FROM bench_audit_chunk c WHERE f.id BETWEEN c.first_family_id AND c.last_family_id"
        ") ORDER BY f.id",
        [LARGE_PREFIX + "%"],
    )
    ids = [row[0] for row in cursor.fetchall()]
    return [
        (ids[i], ids[min(i + chunk_families, len(ids)) - 1], len(ids[i : i + chunk_families]))
        for i in range(0, len(ids), chunk_families)
    ]


def chunk_params(cursor, lo: int, hi: int) -> dict:
    return {
        "lo": lo,
        "hi": hi,
        "prefix": LARGE_PREFIX + "%",
        "view": view_permission_id(cursor),
        "agents": list(USER_AGENTS),
        **_labels(),
    }


def write_audit_rows(connection, *, chunk_families: int = CHUNK_FAMILIES, log: Log = print) -> int:
    """Write the audit events of every large-tier family not yet covered, one transaction per chunk
    of ``chunk_families`` families. ``connection`` is a psycopg2 connection to the tier's database
    (not in autocommit). Returns the number of events written."""
    with connection, connection.cursor() as cursor:
        cursor.execute(PROGRESS_TABLE)
    with connection.cursor() as cursor:
        chunks = pending_chunks(cursor, chunk_families)
    connection.commit()
    if not chunks:
        return 0
    started = time.monotonic()
    written = 0
    families = 0
    total = sum(n for _, _, n in chunks)
    for number, (lo, hi, count) in enumerate(chunks, 1):
        with connection, connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
            params = chunk_params(cursor, lo, hi)
            cursor.execute(CHUNK_FAMILIES_SQL, params)
            cursor.execute("ANALYZE bench_audit_family")
            cursor.execute(PARTITIONS_SQL.format(first=CHUNK_FIRST_DAY))
            cursor.execute(INSERT_SQL, params)
            events = cursor.rowcount
            cursor.execute(
                "INSERT INTO bench_audit_chunk (first_family_id, last_family_id, families, events) "
                "VALUES (%s, %s, %s, %s)",
                [lo, hi, count, events],
            )
        written += events
        families += count
        elapsed = time.monotonic() - started
        log(
            f"  audit chunk {number}/{len(chunks)}: {families:,} of {total:,} families, "
            f"{written:,} events ({written / max(families, 1):.1f} a family) after {elapsed:.0f}s, "
            f"{written / max(elapsed, 0.001):,.0f} events/s"
        )
    with connection, connection.cursor() as cursor:
        # Any event dated before its family's first day landed in DEFAULT: into its month's partition.
        cursor.execute(PARTITIONS_SQL.format(first="current_date"))
    return written


def explain_chunk(connection, lo: int, hi: int) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of one chunk's statements, rolled back: to check the plans use the
    family_id and episode_id indexes rather than scanning whole tables."""
    try:
        with connection.cursor() as cursor:
            params = chunk_params(cursor, lo, hi)
            cursor.execute(CHUNK_FAMILIES_SQL, params)
            cursor.execute("ANALYZE bench_audit_family")
            cursor.execute(PARTITIONS_SQL.format(first=CHUNK_FIRST_DAY))
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + INSERT_SQL, params)
            return "\n".join(row[0] for row in cursor.fetchall())
    finally:
        connection.rollback()
