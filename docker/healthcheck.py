#!/usr/bin/env python
"""Container health checks of the production image (docker-compose.yml): exit 0 when healthy.

    healthcheck.py web    GET /healthz on this container's gunicorn. Healthy when the database
                          and Redis are up: the web container does not turn unhealthy just because
                          no Celery worker answers (the worker has its own check, and /healthz
                          still reports it).
    healthcheck.py beat   the Celery beat process in this container is alive and Redis answers.

The Celery worker is checked with `celery -A ehcase inspect ping` (see docker-compose.yml).
Standard library and the redis client only: no Django start-up on every check.
"""

from __future__ import annotations

import http.client
import json
import os
import sys
from pathlib import Path

BEAT_PIDFILE = Path("/tmp/celerybeat.pid")  # noqa: S108 - written by docker/entrypoint.sh


def _host_header() -> str:
    """A host Django accepts (ALLOWED_HOSTS), or it would answer 400 before /healthz runs."""
    for host in os.environ.get("ALLOWED_HOSTS", "localhost").split(","):
        host = host.strip()
        if not host:
            continue
        if host == "*":
            return "localhost"
        return host.lstrip(".")  # ".example.org" also allows "example.org"
    return "localhost"


def web() -> int:
    port = int(os.environ.get("PORT", "8000"))
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=8)
    try:
        # The proxy header keeps SECURE_SSL_REDIRECT from answering a redirect to https.
        connection.request(
            "GET",
            "/healthz",
            headers={"Host": _host_header(), "X-Forwarded-Proto": "https", "Accept": "application/json"},
        )
        response = connection.getresponse()
        body = response.read()
    except OSError as exc:
        print(f"web: no answer on port {port}: {exc}")
        return 1
    finally:
        connection.close()
    if response.status not in (200, 503):
        print(f"web: /healthz answered {response.status}")
        return 1
    try:
        checks = json.loads(body)["checks"]
    except (ValueError, KeyError, TypeError):
        print(f"web: /healthz answered {response.status} without its JSON")
        return 1
    down = [name for name in ("database", "redis") if not checks.get(name, {}).get("ok")]
    if down:
        print("web: down: " + ", ".join(down))
        return 1
    if not checks.get("celery", {}).get("ok"):
        print("web: ok (no Celery worker answered)")
    return 0


def beat() -> int:
    try:
        pid = int(BEAT_PIDFILE.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError) as exc:
        print(f"beat: not running ({exc})")
        return 1
    import redis

    try:
        redis.Redis.from_url(os.environ["REDIS_URL"], socket_connect_timeout=3, socket_timeout=3).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means unhealthy
        print(f"beat: broker unavailable ({type(exc).__name__})")
        return 1
    return 0


if __name__ == "__main__":
    checks = {"web": web, "beat": beat}
    if len(sys.argv) != 2 or sys.argv[1] not in checks:
        print(f"usage: {sys.argv[0]} {'|'.join(checks)}")
        sys.exit(2)
    sys.exit(checks[sys.argv[1]]())
