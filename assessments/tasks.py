"""Celery tasks for the assessment PDF (docs/pdfs.md). Both take ids or nothing, are idempotent, and are
acknowledged late and redelivered when the worker running them is lost (settings CELERY_TASK_ACKS_LATE
and CELERY_TASK_REJECT_ON_WORKER_LOST, repeated here). No result is stored: the job row is the result,
and what a task returns is a word for the worker's log, never anything the document holds."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def render_assessment_pdf(job_id: int) -> str:
    """Render one queued job (services.pdf_job_render checks the requester's access again)."""
    return services.pdf_job_render(job_id=job_id)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def delete_expired_pdf_jobs() -> int:
    """Delete the rendered PDFs past their expiry (beat, every 10 minutes: settings.CELERY_BEAT_SCHEDULE)."""
    return services.pdf_jobs_delete_expired()
