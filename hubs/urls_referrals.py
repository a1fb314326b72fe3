"""The referrer's pages (hubs.referrals): start a request for support, answer its questions, send it,
and follow it in "My requests"."""

from django.urls import path

from . import referrals as views

app_name = "referrals"
urlpatterns = [
    path("requests/new/", views.start, name="start"),
    path("requests/new/matches/", views.matches, name="matches"),
    path("requests/new/family/", views.family_new, name="family-new"),
    path("requests/<int:request_id>/people/", views.people, name="people"),
    path("requests/<int:request_id>/needs/", views.needs, name="needs"),
    path("requests/<int:request_id>/source/", views.source, name="source"),
    path("requests/<int:request_id>/tried/", views.tried, name="tried"),
    path("requests/<int:request_id>/consent/", views.consent, name="consent"),
    path("requests/<int:request_id>/check/", views.check, name="check"),
    path("requests/<int:request_id>/sent/", views.sent, name="sent"),
    path("my-requests/", views.my_requests, name="my-requests"),
    path("my-requests/<int:request_id>/", views.my_request, name="my-request"),
]
