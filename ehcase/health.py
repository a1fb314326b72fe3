"""/healthz: the state of the database, Redis and the Celery workers, as JSON."""

from __future__ import annotations

import redis
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


def _database() -> dict:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        return {"ok": False, "error": type(exc).__name__}


def _redis() -> dict:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
        client.ping()
        return {"ok": True}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}


def _workers(redis_ok: bool) -> dict:
    if not redis_ok:
        return {"ok": False, "error": "broker unavailable"}
    from ehcase.celery import app

    try:
        replies = app.control.ping(timeout=float(getattr(settings, "HEALTH_WORKER_TIMEOUT", 1.0))) or []
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": type(exc).__name__}
    return (
        {"ok": bool(replies), "workers": len(replies)}
        if replies
        else {"ok": False, "error": "no worker replied"}
    )


def _reminders(database_ok: bool) -> dict:
    """When the reminder scan last ran and how many reminders wait to be sent. Informational: it does
    not turn the status to degraded (a fresh system has never scanned)."""
    if not database_ok:
        return {"error": "database unavailable"}
    try:
        from django.utils import timezone

        from ehcase.notifications.models import Reminder, ReminderStatus, ScanRun

        last = ScanRun.objects.order_by("-id").values_list("finished_at", flat=True).first()
        pending = Reminder.objects.filter(status=ReminderStatus.PENDING)
        return {
            "last_scan_at": last.isoformat() if last else None,
            "pending": pending.count(),
            "pending_due": pending.filter(next_attempt_at__lte=timezone.now()).count(),
            "failed": Reminder.objects.filter(status=ReminderStatus.FAILED).count(),
        }
    except Exception as exc:  # noqa: BLE001
        return {"error": type(exc).__name__}


def _audit_partitions(database_ok: bool) -> dict:
    """Until which month the audit table has partitions, and whether events wait in its DEFAULT
    partition (docs/audit.md). Informational, like the reminders: inserts never fail for want of a
    partition. Two small catalog queries and a probe of the (normally empty) DEFAULT partition."""
    if not database_ok:
        return {"error": "database unavailable"}
    try:
        from ehcase.partitions import DEFAULT_PARTITION, PARENT

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT max(c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass AND c.relname <> %s",
                [PARENT, DEFAULT_PARTITION],
            )
            last = cursor.fetchone()[0]
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION})")  # noqa: S608 - a constant
            waiting = cursor.fetchone()[0]
        return {
            "last_month": last.removeprefix(f"{PARENT}_").replace("_", "-") if last else None,
            "events_in_default": waiting,
        }
    except Exception as exc:  # noqa: BLE001
        return {"error": type(exc).__name__}


@never_cache
@require_GET
def healthz(request):
    database = _database()
    redis_state = _redis()
    workers = _workers(redis_state["ok"])
    checks = {"database": database, "redis": redis_state, "celery": workers}
    down = [name for name, state in checks.items() if not state["ok"]]
    body = {
        "status": "ok" if not down else "degraded",
        "down": down,
        "checks": checks,
        "reminders": _reminders(database["ok"]),
        "audit_partitions": _audit_partitions(database["ok"]),
    }
    return JsonResponse(body, status=200 if not down else 503)
