"""The hub's pages (coordinators; partnership-wide roles read). Included at the site root."""

from django.urls import path

from . import views

app_name = "hubs"
urlpatterns = [
    path("hubs/", views.hub_list, name="hub-list"),
    path("hubs/<int:hub_id>/queue/", views.queue, name="queue"),
    path("hubs/<int:hub_id>/meetings/", views.meeting_list, name="meeting-list"),
    path("hubs/<int:hub_id>/meetings/new/", views.meeting_new, name="meeting-new"),
    path("hub-meetings/<int:meeting_id>/", views.meeting_detail, name="meeting-detail"),
    path("requests/<int:request_id>/", views.request_detail, name="request-detail"),
    path("requests/<int:request_id>/decide/", views.request_decide, name="request-decide"),
]
