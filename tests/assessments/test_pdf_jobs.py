"""The assessment PDF off the request path: asking makes a job, a Celery worker renders it, the job's page
says when it is ready, and the download is audited. docs/pdfs.md.

Sam leads the Ashworth episode and completed its assessment (tests/assessments/test_pdf.py's `plan`);
Hana may read the family; Ola (another hub) and the system administrator may not. Most tests call the
render task directly (a test's transaction never commits, so nothing is queued); the first one runs it
through a real worker process on the real Redis.
"""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.conf import settings
from django.urls import resolve, reverse
from django.utils import timezone

from assessments import services
from assessments.models import Assessment, AssessmentPdfJob, PdfJobStatus
from assessments.tasks import delete_expired_pdf_jobs, render_assessment_pdf
from ehcase.models import AuditAction, AuditEvent
from ehcase.permissions import revoke_family_access
from tests.assessments.test_pdf import FAMILY_VIEW, assessment_url, pdf_text, plan  # noqa: F401
from tests.notifications.conftest import redis_clean, wait_for, workers  # noqa: F401


def ask(client, plan, data=None) -> AssessmentPdfJob:  # noqa: F811
    response = client.post(assessment_url(plan), data or {})
    assert response.status_code == 302, response.status_code
    return AssessmentPdfJob.objects.get(pk=resolve(response["Location"]).kwargs["job_id"])


def job_url(job: AssessmentPdfJob) -> str:
    return reverse("assessments:pdf-job", kwargs={"job_id": job.pk})


def download_url(job: AssessmentPdfJob) -> str:
    return reverse("assessments:pdf-job-download", kwargs={"job_id": job.pk})


def exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("id"))


# --- The whole flow, through a real worker --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_ask_preparing_ready_download_through_a_real_worker(login, personas, plan, workers):  # noqa: F811
    client = login(personas.sam)

    response = client.post(assessment_url(plan))

    assert response.status_code == 302
    job = AssessmentPdfJob.objects.get()
    assert response["Location"] == job_url(job)
    assert (job.requested_by, job.assessment_id, job.version, job.status) == (
        personas.sam,
        plan.assessment.pk,
        None,
        PdfJobStatus.QUEUED,
    )
    # No worker yet: the page says it is being prepared, polls with htmx, and can be checked by hand.
    page = client.get(job_url(job)).content.decode()
    assert "Preparing your PDF" in page
    assert f'hx-get="{job_url(job)}" hx-trigger="every 2s"' in page
    assert f'href="{job_url(job)}">check again</a>' in page
    assert client.get(download_url(job)).status_code == 302  # not ready: back to the job's page
    assert exports() == []

    workers.start()
    wait_for(
        lambda: AssessmentPdfJob.objects.filter(pk=job.pk, status=PdfJobStatus.READY).exists(),
        what="the worker to render the PDF",
    )

    # htmx's poll gets the status part alone, which no longer polls.
    part = client.get(job_url(job), HTTP_HX_REQUEST="true")
    assert "HX-Request" in part["Vary"]
    body = part.content.decode()
    assert "Your PDF is ready" in body and "hx-trigger" not in body and "<html" not in body
    assert f'href="{download_url(job)}">Download the assessment and plan (PDF)</a>' in body
    download = client.get(download_url(job))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    reference = personas.ashworth.reference
    assert download["Content-Disposition"] == f'attachment; filename="early-help-assessment-{reference}.pdf"'
    assert "no-store" in download["Cache-Control"]
    text = pdf_text(download.content)
    assert "Ashworth" in text and FAMILY_VIEW in text
    job.refresh_from_db()
    assert [(e.actor_id, e.family_id, e.summary, e.changes) for e in exports()] == [
        (
            personas.sam.pk,
            personas.ashworth.pk,
            "Early help assessment PDF downloaded",
            {"version": None, "pages": job.pages},
        )
    ]


# --- Reuse ----------------------------------------------------------------------------------------------


def test_asking_again_reuses_the_job_while_it_would_print_the_same(login, personas, plan):  # noqa: F811
    client = login(personas.sam)
    first = ask(client, plan)
    assert ask(client, plan) == first  # still queued

    assert render_assessment_pdf(first.pk) == "ready"
    assert ask(client, plan) == first  # ready, and nothing it prints has changed

    kept = ask(client, plan, {"version": "1"})  # a kept version is another document
    assert kept != first and kept.version.number == 1
    hanas = ask(login(personas.hana), plan)  # another user has a job of their own
    assert hanas not in (first, kept)

    services.action_add(
        actor=personas.sam,
        episode=plan.episode,
        description="A new action after the PDF was made",
        owner_user=personas.sam,
        due_on=timezone.localdate() + dt.timedelta(days=5),
    )
    client = login(personas.sam)
    changed = ask(client, plan)
    assert changed not in (first, kept, hanas)
    render_assessment_pdf(changed.pk)
    assert "A new action after the PDF was made" in pdf_text(client.get(download_url(changed)).content)
    assert render_assessment_pdf(changed.pk) == "done"  # a second run (a redelivery) changes nothing


# --- Failure --------------------------------------------------------------------------------------------


def test_a_failed_render_is_shown_plainly_and_can_be_tried_again(
    login,
    personas,
    plan,  # noqa: F811
    monkeypatch,
    caplog,
):
    client = login(personas.sam)
    job = ask(client, plan)

    def broken(**kwargs):
        raise RuntimeError("Kerry Ashworth's assessment broke the layout")

    monkeypatch.setattr(services, "pdf_render", broken)
    with caplog.at_level(logging.INFO):
        assert render_assessment_pdf(job.pk) == "failed"
    monkeypatch.undo()

    job.refresh_from_db()
    assert job.status == PdfJobStatus.FAILED and job.content is None
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"PDF job {job.pk} could not be rendered: RuntimeError" in logged
    assert "Kerry" not in logged and "Ashworth" not in logged
    page = client.get(job_url(job)).content.decode()
    assert "Your PDF could not be prepared" in page and "hx-trigger" not in page
    assert f'action="{assessment_url(plan)}"' in page and "Try again" in page
    assert client.get(download_url(job)).status_code == 302
    again = ask(client, plan)
    assert again != job  # a failed job is never reused
    assert render_assessment_pdf(again.pk) == "ready"
    assert exports() == []


def test_a_job_no_worker_took_is_shown_as_failed_and_not_reused(login, personas, plan):  # noqa: F811
    client = login(personas.sam)
    job = ask(client, plan)
    stale = settings.PDF_JOB_STALE_MINUTES + 1
    asked = timezone.now() - dt.timedelta(minutes=stale)
    AssessmentPdfJob.objects.filter(pk=job.pk).update(requested_at=asked)

    assert "Your PDF could not be prepared" in client.get(job_url(job)).content.decode()
    assert ask(client, plan) != job


# --- Expiry and deletion --------------------------------------------------------------------------------


def test_expired_pdfs_are_deleted_by_the_periodic_task(login, personas, plan):  # noqa: F811
    client = login(personas.sam)
    old, fresh = ask(client, plan), ask(client, plan, {"version": "1"})
    render_assessment_pdf(old.pk)
    render_assessment_pdf(fresh.pk)
    fresh.refresh_from_db()
    assert fresh.expires_at - fresh.rendered_at == dt.timedelta(minutes=settings.PDF_JOB_EXPIRY_MINUTES)
    AssessmentPdfJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))

    # Expired is gone for the user at once, before the task has run.
    assert client.get(job_url(old)).status_code == 404
    assert client.get(download_url(old)).status_code == 404
    assert delete_expired_pdf_jobs() == 1
    assert list(AssessmentPdfJob.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert "delete-expired-pdfs" in settings.CELERY_BEAT_SCHEDULE


def test_deleting_the_assessment_deletes_its_pdfs(login, personas, plan):  # noqa: F811
    job = ask(login(personas.sam), plan)
    render_assessment_pdf(job.pk)

    Assessment.objects.filter(pk=plan.assessment.pk).delete()

    assert not AssessmentPdfJob.objects.exists()


# --- Who may see a job ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hana", "morgan", "ola", "admin"])
def test_a_job_is_only_for_the_user_who_asked(login, personas, plan, who):  # noqa: F811
    """Hana and Morgan may see the family, but Sam's job is Sam's: 404, as for Ola and the administrator."""
    job = ask(login(personas.sam), plan)
    render_assessment_pdf(job.pk)
    client = login(getattr(personas, who))

    assert client.get(job_url(job)).status_code == 404
    assert client.get(job_url(job), HTTP_HX_REQUEST="true").status_code == 404
    assert client.get(download_url(job)).status_code == 404
    assert exports() == []


def test_signed_out_visitors_are_sent_to_sign_in(client, login, personas, plan):  # noqa: F811
    job = ask(login(personas.sam), plan)
    client.logout()
    for url in (job_url(job), download_url(job)):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(settings.LOGIN_URL)


def test_a_user_who_lost_access_gets_404_for_their_own_ready_job(login, personas, plan):  # noqa: F811
    client = login(personas.hana)
    job = ask(client, plan)
    render_assessment_pdf(job.pk)
    assert client.get(download_url(job)).status_code == 200

    revoke_family_access(user=personas.hana, family=personas.ashworth)

    assert client.get(job_url(job)).status_code == 404
    assert client.get(download_url(job)).status_code == 404
    assert client.post(assessment_url(plan)).status_code == 404


def test_the_render_checks_access_again(login, personas, plan):  # noqa: F811
    """Hana asks, then loses the family before a worker takes the job: nothing is rendered."""
    job = ask(login(personas.hana), plan)
    revoke_family_access(user=personas.hana, family=personas.ashworth)

    assert render_assessment_pdf(job.pk) == "refused"

    job.refresh_from_db()
    assert job.status == PdfJobStatus.FAILED and job.content is None and job.pages is None


# --- Queries --------------------------------------------------------------------------------------------


def test_the_status_page_costs_a_fixed_number_of_queries(
    login,
    personas,
    plan,  # noqa: F811
    django_assert_num_queries,
):
    client = login(personas.sam)
    job = ask(client, plan)
    render_assessment_pdf(job.pk)
    client.get(job_url(job))
    # 1-3. the session, the user, their two-factor device (every signed-in page)
    # 4. the job: the requester's own, not expired, with its kept version; its file is not read
    # 5-6. assessment_for_user: the assessment's episode, the episode's family
    # 7-9. family_for_user: the user's memberships and their hubs (roles), the family if visible
    # 10-11. the episode, the assessment
    # 12. the audit event of the page view
    # 13. the header's unread notifications
    with django_assert_num_queries(13) as full:
        assert client.get(job_url(job)).status_code == 200
    assert not any('"assessments_assessmentpdfjob"."content"' in q["sql"] for q in full.captured_queries)
    # htmx's poll: the same reads, without the audit event (the page view recorded it) or the header.
    with django_assert_num_queries(11):
        assert client.get(job_url(job), HTTP_HX_REQUEST="true").status_code == 200
    # The same for a job still being prepared and one that failed.
    for status in (PdfJobStatus.QUEUED, PdfJobStatus.FAILED):
        AssessmentPdfJob.objects.filter(pk=job.pk).update(status=status)
        with django_assert_num_queries(11):
            assert client.get(job_url(job), HTTP_HX_REQUEST="true").status_code == 200
