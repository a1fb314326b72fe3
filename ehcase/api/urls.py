from django.http import JsonResponse
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from rest_framework.routers import DefaultRouter

from assessments.api import views as assessments
from hubs.api import RequestViewSet
from pathway.api import views as pathway
from reporting.api import IndicatorsView

from . import views

router = DefaultRouter()
router.APIRootView = views.ApiRootView
router.register("agencies", views.AgencyViewSet, basename="agency")
router.register("hubs", views.HubViewSet, basename="hub")
router.register("families", views.FamilyViewSet, basename="family")
router.register("people", views.PersonViewSet, basename="person")
# The pathway (pathway/api/): episodes, their team, meetings, needs and reviews.
router.register(r"families/(?P<pk>[^/.]+)/episodes", pathway.FamilyEpisodeViewSet, basename="family-episode")
router.register("episodes", pathway.EpisodeViewSet, basename="episode")
router.register("meetings", pathway.MeetingViewSet, basename="meeting")
router.register("taf-members", pathway.TafMemberViewSet, basename="taf-member")
router.register("levels-of-need", pathway.LevelOfNeedViewSet, basename="level-of-need")
router.register("outcome-areas", pathway.OutcomeAreaViewSet, basename="outcome-area")
# Consent, the Early Help Assessment and the family plan (assessments/api/).
EPISODE = r"episodes/(?P<pk>[^/.]+)"
router.register(f"{EPISODE}/consents", assessments.EpisodeConsentViewSet, basename="episode-consent")
router.register("consents", assessments.ConsentViewSet, basename="consent")
router.register(f"{EPISODE}/assessments", assessments.EpisodeAssessmentViewSet, basename="episode-assessment")
router.register("assessments", assessments.AssessmentViewSet, basename="assessment")
router.register(f"{EPISODE}/plan", assessments.EpisodePlanViewSet, basename="episode-plan")
router.register(f"{EPISODE}/outcomes", assessments.EpisodeOutcomeViewSet, basename="episode-outcome")
router.register("outcomes", assessments.OutcomeViewSet, basename="outcome")
router.register(f"{EPISODE}/actions", assessments.EpisodeActionViewSet, basename="episode-action")
router.register("actions", assessments.ActionViewSet, basename="action")
# Requests for support and triage (hubs/api.py).
router.register("requests", RequestViewSet, basename="request")


@csrf_exempt  # a 404 either way; without this a POST with a cookie would get the HTML CSRF page
def not_found(request, path=""):
    # Anything else under /api/ is a JSON 404 rather than the HTML error page (and no
    # APPEND_SLASH redirect, which cannot carry a POST body).
    response = JsonResponse({"detail": "Not found."}, status=404)
    response["Cache-Control"] = "no-store"
    return response


app_name = "api"
urlpatterns = [
    path("indicators/", IndicatorsView.as_view(), name="indicators"),
    path("", include(router.urls)),
    re_path(r"^(?P<path>.*)$", not_found),
]
