"""Permission-matrix rows for break-glass access, the audit viewer and access alerts.

Emergency access is asked for by those who work with families without a partnership-wide role (Sam,
Hana, Chris, Alex, Ola); Morgan, Quinn and the administrator get 404. The uses are reviewed by early
help managers and the user's agency manager (Alex, for Sam's use below); auditors read them (403 to
act). The audit viewer and the alerts are for Morgan and Quinn; Morgan reviews alerts.
Empty POSTs are the form again with its errors (200) for those allowed."""

from __future__ import annotations

from tests.matrix_support import _row

REQUESTERS = _row(sam=200, hana=200, chris=200, alex=200, ola=200, morgan=404, quinn=404, admin=404, anon=302)
USES = _row(alex=200, morgan=200, quinn=200, anon=302, others=404)
REVIEW = _row(alex=200, morgan=200, quinn=403, anon=302, others=404)
OVERSEERS = _row(morgan=200, quinn=200, anon=302, others=404)
ALERT_REVIEW = _row(morgan=200, quinn=403, anon=302, others=404)


def sams_emergency_access(p) -> dict:
    """Sam's emergency access to the Evans family (South hub), still running."""
    from ehcase.oversight import services
    from ehcase.oversight.models import BreakGlassAccess

    access = BreakGlassAccess.objects.filter(user=p.sam, family=p.evans).first()
    if access is None:
        p.sam.__dict__.pop("_ehcase_roles", None)
        access = services.break_glass_start(
            actor=p.sam,
            reference=p.evans.reference,
            reason="A call from the police about a pupil staying with this family tonight.",
        )
        p.sam.__dict__.pop("_ehcase_roles", None)
    return {"access_id": access.pk}


def quinns_alert(p) -> dict:
    from django.utils import timezone

    from ehcase.oversight.models import AccessAlert

    alert, _ = AccessAlert.objects.get_or_create(
        user=p.quinn,
        day=timezone.localdate(),
        kind="many_families",
        defaults={"count": 21, "family_ids": [p.ashworth.pk]},
    )
    return {"alert_id": alert.pk}


# (route name, url kwargs function of the personas, method, form data, expected statuses)
ROWS: list = [
    ("oversight:break-glass-new", None, "get", None, REQUESTERS),
    ("oversight:break-glass-new", None, "post", {}, REQUESTERS),
    # Only the holder ends their access (back to the request page); anyone else's is a 404.
    ("oversight:break-glass-end", sams_emergency_access, "post", {}, _row(sam=302, anon=302, others=404)),
    ("oversight:break-glass-list", None, "get", None, USES),
    ("oversight:break-glass-review", sams_emergency_access, "get", None, USES),
    ("oversight:break-glass-review", sams_emergency_access, "post", {}, REVIEW),
    ("oversight:audit-search", None, "get", None, OVERSEERS),
    ("oversight:audit-export", None, "get", None, OVERSEERS),
    ("oversight:alert-list", None, "get", None, OVERSEERS),
    ("oversight:alert-review", quinns_alert, "get", None, OVERSEERS),
    ("oversight:alert-review", quinns_alert, "post", {}, ALERT_REVIEW),
]
