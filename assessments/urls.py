from django.urls import path

from . import views, views_pdf

app_name = "assessments"
urlpatterns = [
    # Consent
    path("episodes/<int:episode_id>/consent/", views.consent_list, name="consent-list"),
    path("episodes/<int:episode_id>/consent/add/", views.consent_add, name="consent-add"),
    path("consent/<int:consent_id>/withdraw/", views.consent_withdraw, name="consent-withdraw"),
    path("consent/<int:consent_id>/evidence/", views.consent_evidence, name="consent-evidence"),
    # The assessment
    path("episodes/<int:episode_id>/assessment/start/", views.assessment_start, name="assessment-start"),
    path("assessments/awaiting-sign-off/", views.sign_off_queue, name="sign-off-queue"),
    path("assessments/<int:assessment_id>/", views.assessment_detail, name="assessment-detail"),
    path(
        "assessments/<int:assessment_id>/edit/<slug:section>/",
        views.assessment_section,
        name="assessment-section",
    ),
    path("assessments/<int:assessment_id>/autosave/", views.assessment_autosave, name="assessment-autosave"),
    path("assessments/<int:assessment_id>/check/", views.assessment_check, name="assessment-check"),
    path("assessments/<int:assessment_id>/decide/", views.assessment_decide, name="assessment-decide"),
    path(
        "assessments/<int:assessment_id>/versions/<int:number>/",
        views.assessment_version,
        name="assessment-version",
    ),
    path("assessments/<int:assessment_id>/pdf/", views_pdf.assessment_pdf, name="assessment-pdf"),
    path("pdfs/<int:job_id>/", views_pdf.pdf_job, name="pdf-job"),
    path("pdfs/<int:job_id>/download/", views_pdf.pdf_job_download, name="pdf-job-download"),
    # The family plan
    path("episodes/<int:episode_id>/plan/pdf/", views_pdf.family_plan_pdf, name="plan-pdf"),
    path("episodes/<int:episode_id>/outcomes/add/", views.outcome_add, name="outcome-add"),
    path("outcomes/<int:outcome_id>/", views.outcome_edit, name="outcome-edit"),
    path("episodes/<int:episode_id>/actions/add/", views.action_add, name="action-add"),
    path("actions/<int:action_id>/", views.action_update, name="action-update"),
]
