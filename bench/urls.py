"""The site's routes plus one: `bench/ceiling/`, the smallest signed-in page, for the load run's
ceiling (bench/load.py). It goes through every middleware a real page does (session, CSRF, sign-in,
two-factor, no-store, axes) and then does nothing, so its throughput is what the stack allows before
any view work. It is served only under bench.settings, never by the site itself: /healthz is no
substitute, as it skips the sign-in and two-factor checks and waits on Redis and the Celery workers."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import path

from ehcase.urls import handler400, handler403, handler404, handler500  # noqa: F401 - used by Django
from ehcase.urls import urlpatterns as site_urlpatterns


@login_required
def ceiling(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [path("bench/ceiling/", ceiling, name="bench-ceiling"), *site_urlpatterns]
