#!/bin/sh
# Entry point of the production image: `web`, `worker`, `beat`, `migrate`, `manage ARGS...`,
# or any other command as it is. Each role `exec`s its server so that it gets the signals.
set -eu
cd /app

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
  web)
    # One web container applies the migrations before serving (set EHCASE_MIGRATE_ON_START=0 when
    # several web replicas start together and run `migrate` as a release step instead).
    if [ "${EHCASE_MIGRATE_ON_START:-1}" = "1" ]; then
      python manage.py migrate --noinput
    fi
    # WEB_CONCURRENCY sets the number of workers; GUNICORN_CMD_ARGS adds options. X-Forwarded-*
    # headers are trusted from any address (FORWARDED_ALLOW_IPS): docker-compose.yml publishes the
    # port on loopback only, for the TLS-terminating reverse proxy in front. The access log names the
    # path only (%(U)s): never the query string or the Referer (docs/hardening.md; as scripts/run.py).
    exec gunicorn ehcase.wsgi:application \
      --bind "0.0.0.0:${PORT:-8000}" \
      --workers "${WEB_CONCURRENCY:-3}" \
      --threads "${GUNICORN_THREADS:-4}" \
      --timeout "${GUNICORN_TIMEOUT:-60}" \
      --graceful-timeout 30 \
      --max-requests 1000 --max-requests-jitter 100 \
      --worker-tmp-dir /dev/shm \
      --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
      --access-logfile - --error-logfile - \
      --access-logformat '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(M)sms' \
      --no-control-socket \
      "$@"
    ;;
  worker)
    exec celery -A ehcase worker \
      --loglevel "${CELERY_LOG_LEVEL:-info}" \
      --concurrency "${CELERY_CONCURRENCY:-2}" \
      "$@"
    ;;
  beat)
    # Exactly one beat per deployment. A pid file left by a previous run of this container would
    # stop it from starting, and it is what docker/healthcheck.py looks at.
    rm -f /tmp/celerybeat.pid
    exec celery -A ehcase beat \
      --loglevel "${CELERY_LOG_LEVEL:-info}" \
      --schedule /var/lib/ehcase/celerybeat-schedule \
      --pidfile /tmp/celerybeat.pid \
      "$@"
    ;;
  migrate)
    exec python manage.py migrate --noinput "$@"
    ;;
  manage)
    exec python manage.py "$@"
    ;;
  *)
    exec "$role" "$@"
    ;;
esac
