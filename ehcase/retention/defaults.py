"""The default retention rules (docs/retention.md): written by migration retention/0002, and again by
the demo data and tests after a test database has been flushed."""

RULES = [
    (
        "family",
        "last_activity",
        6,
        "Everything under a family (members' links, requests for support, episodes, assessments, plans, "
        "meetings, reviews, notes, consent, claims, sharing records): 6 years from the last episode's "
        "closure, or from the family's last activity if it never had an episode.",
    ),
    (
        "child",
        "date_of_birth",
        25,
        "A child's record is kept until the child is 25: a family's record is not destroyed before its "
        "youngest child's 25th birthday, even when the family rule would allow it.",
    ),
    (
        "audit",
        "event",
        7,
        "Audit events: 7 years from the month they were recorded (events of a family under legal hold "
        "are kept).",
    ),
]


def ensure_default_rules(rule_model=None) -> None:
    """Create any default rule that is missing; never changes a rule an administrator has edited."""
    if rule_model is None:
        from .models import RetentionRule as rule_model
    for record_class, runs_from, years, description in RULES:
        rule_model.objects.get_or_create(
            record_class=record_class,
            defaults={"runs_from": runs_from, "years": years, "description": description},
        )
