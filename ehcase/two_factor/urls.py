from django.urls import path

from . import views

app_name = "two_factor"

urlpatterns = [
    path("", views.verify, name="verify"),
    path("set-up/", views.setup, name="setup"),
    path("recovery/", views.recovery, name="recovery"),
    path("recovery-codes/", views.recovery_codes, name="recovery-codes"),
]
