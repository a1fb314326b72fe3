# syntax=docker/dockerfile:1
# Production image of Early Help case management. One image, three roles (docker/entrypoint.sh):
# `web` (migrations, then gunicorn), `worker` (Celery worker) and `beat` (Celery beat); see
# docker-compose.yml. Static files are collected at build time and served by WhiteNoise.
ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:22-slim

# ---- front-end packages (GOV.UK Frontend, htmx) exactly as package-lock.json pins them
FROM ${NODE_IMAGE} AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

# ---- Python packages, every one checked against the lock file's hashes
FROM ${PYTHON_IMAGE} AS python-deps
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements-prod.lock /tmp/requirements-prod.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements-prod.lock

# ---- the application
FROM ${PYTHON_IMAGE} AS app
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH \
    EHCASE_ENV=production \
    DJANGO_SETTINGS_MODULE=ehcase.settings \
    XDG_CACHE_HOME=/tmp/.cache \
    PORT=8000

# WeasyPrint's runtime libraries (Pango, HarfBuzz) and fonts for the PDFs. Not pinned: the base
# image's Debian release fixes their versions, and a rebuild should pick up its security updates.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 ehcase \
 && useradd --system --uid 10001 --gid ehcase --home-dir /app --no-create-home \
        --shell /usr/sbin/nologin ehcase \
 && mkdir -p /var/lib/ehcase \
 && chown ehcase:ehcase /var/lib/ehcase

WORKDIR /app
COPY --from=python-deps /opt/venv /opt/venv
COPY --from=assets /src/node_modules/govuk-frontend ./node_modules/govuk-frontend
COPY --from=assets /src/node_modules/htmx.org ./node_modules/htmx.org
COPY . .

# The secret key here only lets the settings load for collectstatic; it is not kept in the image.
RUN DJANGO_SECRET_KEY=collectstatic-only-not-a-secret python manage.py collectstatic --noinput -v 0 \
 && python -m compileall -q /app \
 && chmod 0755 docker/entrypoint.sh docker/healthcheck.py

# Runs as the unprivileged `ehcase` (numeric, so that runAsNonRoot-style checks can verify it).
# The code stays owned by root, read-only for the service user; /var/lib/ehcase is its only
# writable place besides /tmp (the beat schedule lives there, on a volume).
USER 10001:10001
EXPOSE 8000
ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["web"]
