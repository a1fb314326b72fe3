from django.urls import path

from . import views

app_name = "retention"
urlpatterns = [
    path("retention/", views.review_list, name="review-list"),
    path("retention/reviews/<int:review_id>/approve/", views.review_approve, name="review-approve"),
    path("retention/reviews/<int:review_id>/defer/", views.review_defer, name="review-defer"),
    path("retention/legal-holds/", views.hold_list, name="hold-list"),
    path("retention/families/<int:family_id>/legal-hold/", views.hold_place, name="hold-place"),
    path("retention/legal-holds/<int:hold_id>/lift/", views.hold_lift, name="hold-lift"),
    path("retention/destroyed/", views.log_list, name="log-list"),
]
