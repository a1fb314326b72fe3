"""The site's settings with bench.urls as the URL configuration (one extra page: bench/ceiling/).
The load run (bench/load.py) serves ehcase.wsgi with DJANGO_SETTINGS_MODULE=bench.settings."""

from ehcase.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
