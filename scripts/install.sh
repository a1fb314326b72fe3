#!/usr/bin/env bash
# Installs the project's Python and front-end packages from the lock files into .venv/ and node_modules/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=$(command -v python3.11 || command -v python3)
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet "uv>=0.5,<1"
fi
.venv/bin/uv pip install --quiet --python .venv/bin/python -r requirements.lock
if [ ! -d node_modules/govuk-frontend ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p staticfiles  # whitenoise expects STATIC_ROOT to exist
touch .venv/.installed
