"""Import jobs: a file uploaded through the API, imported by a worker, all or nothing."""
import functools
import logging
import re
import shutil
import zlib
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import IntegrityError, transaction
from django.utils.text import get_valid_filename

from labeling.formats import prm800k, segmentation
from labeling.formats import solutions as solution_formats
from labeling.formats.errors import ImportFileError, RecordError
from labeling.imports import files as importers
from labeling.imports.detect import open_records
from labeling.jobs.background import RUN_IMPORT_JOB, finish, job_uuid, queue_on_commit, run_job
from labeling.models import AuditAction, ImportFormat, ImportJob, RunStatus
from labeling.people import audit

log = logging.getLogger(__name__)
CONFLICT_RETRIES = 1


PARSERS = {ImportFormat.PRM800K: prm800k.parse_record, ImportFormat.STEPWISE_CRITIC: prm800k.parse_record,
           **solution_formats.PARSERS}


class UploadTooLarge(ValueError):
    pass


def max_upload_bytes() -> int:
    return settings.IMPORT_MAX_UPLOAD_MB * 1024 * 1024


def upload_limit_message() -> str:
    return (f"the file is larger than the upload limit of {settings.IMPORT_MAX_UPLOAD_MB} MB "
            "(IMPORT_MAX_UPLOAD_MB); gzip it, split it, or use the import commands on the server")


def _safe_name(name: str) -> str:
    try:
        return get_valid_filename(Path(name).name)[-100:]
    except SuspiciousFileOperation:  # nothing usable left of the name
        return "upload.jsonl"


def create_import_job(user, uploaded_file, fmt: str = ImportFormat.AUTO, *, enqueue: bool = False,
                      project=None, segment_by=None) -> ImportJob:
    """Stream the upload to MEDIA_ROOT/imports/<job id>/ and queue its import into `project` (a Project; the
    default one when not given); `segment_by` (a Segmentation) cuts `solution` texts into steps."""
    if fmt not in ImportFormat.values:
        raise ValueError(f"format must be one of {', '.join(ImportFormat.values)}")
    limit = max_upload_bytes()
    if (uploaded_file.size or 0) > limit:
        raise UploadTooLarge(upload_limit_message())
    name = Path(uploaded_file.name or "upload").name[:255]
    options = {"enqueue": enqueue, **({"segmentation": segment_by.describe()} if segment_by is not None else {})}
    job = ImportJob(created_by=user, format=fmt, original_filename=name, options=options,
                    **({"project": project} if project is not None else {}))
    folder = Path(settings.MEDIA_ROOT) / "imports" / str(job.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / _safe_name(name)
    try:
        with open(path, "wb") as out:
            for chunk in uploaded_file.chunks():
                job.size += len(chunk)
                if job.size > limit:  # the declared size can lie
                    raise UploadTooLarge(upload_limit_message())
                out.write(chunk)
        job.file_path = str(path)
        with transaction.atomic():  # only now: SQLite would hold its write lock through the copy
            job.save()
            queue_on_commit(RUN_IMPORT_JOB, job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def run_import_job(job_id) -> str:
    return run_job(ImportJob, job_uuid(job_id), _import)


def _import(job: ImportJob) -> None:
    for retry in range(CONFLICT_RETRIES + 1):
        try:
            done = _import_once(job)
            break
        except ImportFileError as exc:
            finish(job, RunStatus.FAILED, **_located(job, exc))
            return
        except (EOFError, zlib.error) as exc:  # a truncated or corrupt .gz
            finish(job, RunStatus.FAILED, error_file=job.original_filename,
                    error_message=f"{job.original_filename}: not a readable gzip file ({exc}); nothing was imported")
            return
        except IntegrityError:
            # A concurrent import committed some of the same rows first; run again, they now count as existing.
            if retry == CONFLICT_RETRIES:
                raise
            log.info("import job %s collided with another import; running it again", job.pk)
    if done:  # the uploader has the file; failed uploads stay for an operator to look at
        shutil.rmtree(Path(job.file_path).parent, ignore_errors=True)


def _import_once(job: ImportJob) -> bool:
    enqueue = bool(job.options.get("enqueue"))
    # One transaction for rows, queue entries and the outcome: a crash in between leaves none of them.
    with transaction.atomic():
        fmt, records = open_records(job.file_path, job.format)
        parse = PARSERS[fmt]
        if job.options.get("segmentation") and fmt == ImportFormat.JSONL:  # checked when the job was made
            parse = functools.partial(parse, segment_by=segmentation.from_options(job.options["segmentation"]))
        stats = importers.run_import(job.file_path, records, parse, enqueue=enqueue, project=job.project_id)
        out = {"format": fmt, "records": stats.records, "created": stats.created, "existing": stats.existing,
               "repeated": stats.repeated}
        if enqueue:
            out["enqueued"] = stats.enqueued
        done = finish(job, RunStatus.SUCCEEDED, stats=out)
        if done:  # a failed import changed nothing: its job row says why, the audit trail stays silent
            audit.record(job.created_by, AuditAction.IMPORT, job, file=job.original_filename, **out)
        return done


def _located(job: ImportJob, exc: ImportFileError) -> dict:
    err = exc.error
    text = str(err).replace(job.file_path, job.original_filename).replace(str(settings.MEDIA_ROOT), "…")
    line = re.fullmatch(r"(?:line|record|row) (\d+)", exc.where)
    return {"error_message": f"{job.original_filename}:{exc.where}: {text}; nothing was imported",
            "error_file": job.original_filename, "error_line": int(line[1]) if line else None,
            "error_field": err.field if isinstance(err, RecordError) else ""}
