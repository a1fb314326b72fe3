"""An email backend for the worker processes of these tests: it records every message it sends in a
Redis list, and can be told to stop mid-batch. When the Redis key `HOLD` holds n, the backend, asked to
send message n+1, pushes its process id onto `HELD` and waits on `RELEASE` (which nobody pushes): the
test then kills the process at exactly that point, with n messages sent."""

from __future__ import annotations

import json
import os

import redis
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend

SENT = "notify-test:sent"
HOLD = "notify-test:hold-after"
HELD = "notify-test:held"
RELEASE = "notify-test:release"


def client() -> redis.Redis:
    # No socket timeout: the backend's wait on RELEASE must last until the test kills the process.
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=None)


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        r = client()
        for message in email_messages:
            hold = r.get(HOLD)
            if hold is not None and r.llen(SENT) >= int(hold):
                r.rpush(HELD, os.getpid())
                r.blpop([RELEASE])  # blocks until the test kills this process
            r.rpush(
                SENT,
                json.dumps(
                    {
                        "to": message.to,
                        "subject": message.subject,
                        "key": message.extra_headers.get("X-Reminder-Key", ""),
                        "body": message.body,
                    }
                ),
            )
        return len(email_messages)


def sent() -> list[dict]:
    return [json.loads(item) for item in client().lrange(SENT, 0, -1)]


class FailingEmailBackend(BaseEmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, email_messages):
        raise ConnectionRefusedError("mail server refused the connection")
