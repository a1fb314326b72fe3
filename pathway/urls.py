from django.urls import path

from . import views, views_claims

app_name = "pathway"
urlpatterns = [
    path("families/<int:family_id>/early-help/start/", views.episode_start, name="episode-start"),
    path("families/<int:family_id>/early-help/step-down/", views.step_down_accept, name="step-down"),
    path("families/<int:family_id>/chronology/", views.chronology, name="chronology"),
    path("families/<int:family_id>/chronology/add/", views.case_note_add, name="case-note-add"),
    path("episodes/<int:episode_id>/", views.episode_detail, name="episode-detail"),
    path("episodes/<int:episode_id>/level/", views.level_change, name="episode-level"),
    path("episodes/<int:episode_id>/team/add/", views.taf_add, name="taf-add"),
    path("episodes/<int:episode_id>/team/<int:member_id>/remove/", views.taf_remove, name="taf-remove"),
    path("episodes/<int:episode_id>/lead/", views.lead_change, name="lead-change"),
    path("episodes/<int:episode_id>/meetings/new/", views.meeting_new, name="meeting-new"),
    path("episodes/<int:episode_id>/needs/add/", views.need_add, name="need-add"),
    path("episodes/<int:episode_id>/baseline/", views.baseline_record, name="baseline"),
    path("episodes/<int:episode_id>/reviews/new/", views.review_new, name="review-new"),
    path("episodes/<int:episode_id>/step-up/", views.step_up, name="episode-step-up"),
    path("episodes/<int:episode_id>/close/", views.close, name="episode-close"),
    path("episodes/<int:episode_id>/claims/new/", views_claims.claim_new, name="claim-new"),
    path("claims/<int:claim_id>/edit/", views_claims.claim_edit, name="claim-edit"),
    path("claims/<int:claim_id>/status/", views_claims.claim_status, name="claim-status"),
    path("meetings/<int:meeting_id>/", views.meeting_detail, name="meeting-detail"),
    path("meetings/<int:meeting_id>/record/", views.meeting_record, name="meeting-record"),
    path("meetings/<int:meeting_id>/cancel/", views.meeting_cancel, name="meeting-cancel"),
    path("my-work/", views.my_work, name="my-work"),
    path("caseloads/", views.caseloads, name="caseloads"),
]
