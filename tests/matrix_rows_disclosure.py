"""Permission-matrix rows for sharing records and subject access requests.

Sharing records: anyone who may see the Ashworth family reads them; those working with it record them
(Sam and Chris may change the family, Hana is in its team); partnership-wide readers and Alex (agency
manager) read only. Sam recorded the sample record, so he and Chris (who may change the family) may mark
it as recorded in error. Subject access is for early help managers (Morgan) only: 404 for everyone else,
the quality auditor included."""

from __future__ import annotations

from tests.matrix_support import _row

FAMILY_READ = _row(
    sam=200, hana=200, chris=200, alex=200, morgan=200, quinn=200, ola=404, admin=404, anon=302
)
SHARING_WRITERS = _row(
    sam=200, hana=200, chris=200, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302
)
IN_ERROR = _row(sam=200, chris=200, hana=403, alex=403, morgan=403, quinn=403, ola=404, admin=404, anon=302)
EHM_ONLY = _row(morgan=200, anon=302, others=404)


def ashworth(p):
    return {"family_id": p.ashworth.pk}


def sams_sharing_record(p) -> dict:
    from ehcase.disclosure import services
    from ehcase.disclosure.models import SharingRecord

    record = SharingRecord.objects.filter(family=p.ashworth).first()
    if record is None:
        import datetime as dt

        record = services.sharing_record_create(
            actor=p.sam,
            family=p.ashworth,
            decision="shared",
            shared_on=dt.date(2026, 11, 1),
            what="The plan",
            recipient="School nurse",
            method="secure_email",
            purpose="Health support",
            lawful_basis="consent",
            consent="given",
            people=[p.ashworth.members.order_by("id").first().person],
        )
    return {"record_id": record.pk}


def ashworth_person_id(p) -> dict:
    return {"person_id": p.ashworth.members.order_by("id").first().person_id}


def _sar(p, *, released: bool):
    import datetime as dt

    from ehcase.disclosure import services
    from ehcase.disclosure.models import SubjectAccessRequest

    person = p.ashworth.members.order_by("id").first().person
    sar = SubjectAccessRequest.objects.filter(
        person=person, status="released" if released else "draft"
    ).first()
    if sar is None:
        sar = services.subject_access_request_create(
            actor=p.morgan, person=person, received_on=dt.date(2026, 11, 2), requester="self"
        )
        if released:
            sar = services.subject_access_release(actor=p.morgan, sar=sar, version=sar.version)
    return sar


def draft_sar(p) -> dict:
    return {"request_id": _sar(p, released=False).pk}


def released_sar(p) -> dict:
    return {"request_id": _sar(p, released=True).pk}


# (route name, url kwargs function of the personas, method, form data, expected statuses)
ROWS: list = [
    ("disclosure:sharing-list", ashworth, "get", None, FAMILY_READ),
    ("disclosure:sharing-new", ashworth, "get", None, SHARING_WRITERS),
    ("disclosure:sharing-new", ashworth, "post", {}, SHARING_WRITERS),
    ("disclosure:sharing-in-error", sams_sharing_record, "get", None, IN_ERROR),
    ("disclosure:sharing-in-error", sams_sharing_record, "post", {}, IN_ERROR),
    ("disclosure:sar-list", None, "get", None, EHM_ONLY),
    ("disclosure:sar-new", ashworth_person_id, "get", None, EHM_ONLY),
    ("disclosure:sar-new", ashworth_person_id, "post", {}, EHM_ONLY),
    ("disclosure:sar-detail", draft_sar, "get", None, EHM_ONLY),
    # Without the version the page shows the conflict message: a 200 with the error summary.
    ("disclosure:sar-detail", draft_sar, "post", {}, EHM_ONLY),
    ("disclosure:sar-release", draft_sar, "get", None, EHM_ONLY),
    ("disclosure:sar-release", draft_sar, "post", {}, EHM_ONLY),
    ("disclosure:sar-pdf", released_sar, "get", None, EHM_ONLY),
    ("disclosure:sar-json", released_sar, "get", None, EHM_ONLY),
]
