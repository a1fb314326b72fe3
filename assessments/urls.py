from django.urls import path

from . import views

app_name = "assessments"
urlpatterns = [
    path("episodes/<int:episode_id>/actions/add/", views.action_add, name="action-add"),
    path("actions/<int:action_id>/", views.action_update, name="action-update"),
]
