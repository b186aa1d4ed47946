"""Background imports and exports: a job row that the API polls, a Celery task that runs it.

`create_*` store the request (and the upload), then queue the task once the row is committed.
`run_*` may be called again for the same job, since acks_late re-delivers the task of a worker that
died: a finished job is left alone, a PostgreSQL advisory lock keeps two deliveries from running
at once, and a job that keeps killing its worker fails after MAX_ATTEMPTS instead of looping.
Messages name the file as uploaded, never the path on the server.
"""
import logging
import re
import shutil
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.text import get_valid_filename

from . import audit, exporters, importers, prm800k, queue, selectors, solution_formats, sources
from .errors import ImportFileError, RecordError
from .models import AuditAction, ExportFormat, ExportJob, ImportFormat, ImportJob, Job, JobStatus, Solution

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CONFLICT_RETRIES = 1
PARSERS = {ImportFormat.PRM800K: prm800k.parse_record, **solution_formats.PARSERS}
_DONE = (JobStatus.SUCCEEDED, JobStatus.FAILED)


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


def create_import_job(user, uploaded_file, fmt: str = ImportFormat.AUTO, *, enqueue: bool = False) -> ImportJob:
    """Stream the upload to MEDIA_ROOT/imports/<job id>/ and queue its import."""
    if fmt not in ImportFormat.values:
        raise ValueError(f"format must be one of {', '.join(ImportFormat.values)}")
    limit = max_upload_bytes()
    if (uploaded_file.size or 0) > limit:
        raise UploadTooLarge(upload_limit_message())
    name = Path(uploaded_file.name or "upload").name[:255]
    job = ImportJob(created_by=user, format=fmt, original_filename=name, options={"enqueue": enqueue})
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
            _queue_on_commit("run_import_job", job)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return job


def create_export_job(user, fmt: str = ExportFormat.PRM800K, generations=None, include_qc: bool = False,
                      neutral: str = "positive", gzip: bool = False) -> ExportJob:
    if fmt not in ExportFormat.values:
        raise ValueError(f"format must be one of {', '.join(ExportFormat.values)}")
    if neutral not in exporters.NEUTRAL_POLICIES:
        raise ValueError(f"neutral must be one of {', '.join(exporters.NEUTRAL_POLICIES)}")
    options = {"generations": sorted(set(generations or [])), "include_qc": include_qc, "neutral": neutral}
    with transaction.atomic():
        job = ExportJob.objects.create(created_by=user, format=fmt, gzip=gzip, options=options)
        _queue_on_commit("run_export_job", job)
    return job


def _queue_on_commit(task_name: str, job: Job) -> None:
    """The worker must find the row: send the task once the job is committed."""

    def send():
        from . import tasks

        try:
            getattr(tasks, task_name).delay(str(job.id))
        except Exception:  # the broker is down: say so on the job rather than leave it queued forever
            log.exception("could not queue %s %s", task_name, job.id)
            type(job).objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
                status=JobStatus.FAILED, finished_at=timezone.now(),
                error_message="could not queue the job (the task broker is unavailable); try again later")

    transaction.on_commit(send)


# --- running ------------------------------------------------------------------------------------------------------

def lock_key(job_id: uuid.UUID) -> int:
    return int.from_bytes(job_id.bytes[:8], "big", signed=True)


@contextmanager
def _exclusive(job_id) -> Iterator[bool]:
    """True unless another live session runs this job (PostgreSQL session lock, freed if its worker dies)."""
    if connection.vendor != "postgresql":
        yield True  # SQLite goes with the filesystem broker, which does not deliver a task twice at once
        return
    key = lock_key(job_id)
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [key])
        mine = cur.fetchone()[0]
    try:
        yield mine
    finally:
        if mine:
            with connection.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", [key])


def _claim(model: type[Job], job_id) -> Job | None:
    """Mark the job running for one more attempt; None when it must not run."""
    with transaction.atomic():
        job = model.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.status in _DONE:
            return None
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = JobStatus.FAILED, timezone.now()
            job.error_message = (f"the worker stopped {job.attempts} times while running this job "
                                 "(out of memory or killed?); it was not tried again")
            job.save()
            return None
        job.status, job.attempts, job.started_at = JobStatus.RUNNING, job.attempts + 1, timezone.now()
        job.save()
        return job


def _finish(job: Job, status: str, **fields) -> bool:
    """Record the outcome, unless a later attempt has taken the job over."""
    return bool(type(job).objects.filter(pk=job.pk, attempts=job.attempts, status=JobStatus.RUNNING)
                .update(status=status, finished_at=timezone.now(), **fields))


@contextmanager
def _outcome(job: Job, what: str):
    """Any error ends the job failed with a reason; the trace goes to the log only."""
    try:
        yield
    except Exception as exc:
        log.exception("%s job %s failed", what, job.pk)
        _finish(job, JobStatus.FAILED, error_message=f"the {what} stopped on an unexpected error "
                                                     f"({type(exc).__name__}); it has been logged")
    finally:  # still running here = interrupted (e.g. worker shutdown)
        _finish(job, JobStatus.FAILED, error_message=f"the {what} was interrupted; nothing was kept")


def _run(model: type[Job], job_id, body) -> str:
    with _exclusive(job_id) as mine:
        if not mine:
            return "running elsewhere"
        job = _claim(model, job_id)
        if job is None:
            return "not run"
        with _outcome(job, "import" if model is ImportJob else "export"):
            body(job)
        return model.objects.values_list("status", flat=True).get(pk=job.pk)


def run_import_job(job_id) -> str:
    return _run(ImportJob, _uuid(job_id), _import)


def run_export_job(job_id) -> str:
    return _run(ExportJob, _uuid(job_id), _export)


def _uuid(job_id) -> uuid.UUID:
    return job_id if isinstance(job_id, uuid.UUID) else uuid.UUID(str(job_id))


# --- imports ------------------------------------------------------------------------------------------------------

def detect_format(path) -> str:
    """solution_formats.detect, plus PRM800K label files."""
    if sources.first_char(path) != "[":
        for _, rec in sources.iter_jsonl(path):
            if isinstance(rec, dict) and "label" in rec and "question" in rec:
                return ImportFormat.PRM800K
            break
    return solution_formats.detect(path)


def _reader(path: str, fmt: str):
    try:
        fmt = detect_format(path) if fmt == ImportFormat.AUTO else fmt
        array = fmt == ImportFormat.PROCESSBENCH and sources.first_char(path) == "["
    except sources.LocatedError as exc:
        raise ImportFileError(path, exc.where, exc.error) from None
    except RecordError as exc:
        raise ImportFileError(path, "format", exc) from None
    except OSError as exc:
        raise ImportFileError(path, "read", exc) from None
    return fmt, (sources.iter_json_array if array else sources.iter_jsonl)(path)


def _import(job: ImportJob) -> None:
    for retry in range(CONFLICT_RETRIES + 1):
        try:
            done = _import_once(job)
            break
        except ImportFileError as exc:
            _finish(job, JobStatus.FAILED, **_located(job, exc))
            return
        except (EOFError, zlib.error) as exc:  # a truncated or corrupt .gz
            _finish(job, JobStatus.FAILED, error_file=job.original_filename,
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
    keys: dict[str, None] = {}  # solution keys in file order, for enqueue
    # One transaction for rows, queue entries and the outcome: a crash in between leaves none of them.
    with transaction.atomic():
        fmt, records = _reader(job.file_path, job.format)

        def parse(rec):
            item = PARSERS[fmt](rec)
            if enqueue and item.solution is not None:
                keys[item.solution.key] = None
            return item

        stats = importers.run_import(job.file_path, records, parse)
        out = {"format": fmt, "records": stats.records, "created": stats.created, "existing": stats.existing,
               "repeated": stats.repeated}
        if enqueue:
            out["enqueued"] = _enqueue(list(keys))
        done = _finish(job, JobStatus.SUCCEEDED, stats=out)
        if done:  # a failed import changed nothing: its job row says why, the audit trail stays silent
            audit.record(job.created_by, AuditAction.IMPORT, job, file=job.original_filename, **out)
        return done


def _located(job: ImportJob, exc: ImportFileError) -> dict:
    err = exc.error
    text = str(err).replace(job.file_path, job.original_filename).replace(str(settings.MEDIA_ROOT), "…")
    line = re.fullmatch(r"(?:line|record) (\d+)", exc.where)
    return {"error_message": f"{job.original_filename}:{exc.where}: {text}; nothing was imported",
            "error_file": job.original_filename, "error_line": int(line[1]) if line else None,
            "error_field": err.field if isinstance(err, RecordError) else ""}


def _enqueue(keys: list[str], chunk: int = 1000) -> int:
    """Queue the file's solutions that are not queued yet (screening and QC ones are served apart)."""
    n = 0
    for i in range(0, len(keys), chunk):
        found = {s.content_hash: s for s in Solution.objects.filter(
            content_hash__in=keys[i:i + chunk], queue_entry__isnull=True, is_screening=False,
            is_quality_control=False)}
        n += queue.enqueue([found[k] for k in keys[i:i + chunk] if k in found])
    return n


# --- exports ------------------------------------------------------------------------------------------------------

def export_path(job: ExportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / "exports" / f"{job.id}.jsonl{'.gz' if job.gzip else ''}"


def _export(job: ExportJob) -> None:
    path = export_path(job)
    path.parent.mkdir(parents=True, exist_ok=True)
    o = job.options
    qs = selectors.passes_for_export(o.get("generations"), o.get("include_qc", False))
    if job.format == ExportFormat.TRL:
        lines = exporters.trl_lines(qs, o.get("neutral", "positive"))
    else:
        lines = exporters.prm800k_lines(qs)
    n = exporters.write_export(str(path), lines)  # written beside and renamed: never half a file
    with transaction.atomic():
        if _finish(job, JobStatus.SUCCEEDED, file_path=str(path), lines=n, size=path.stat().st_size):
            audit.record(job.created_by, AuditAction.EXPORT, job, format=job.format, gzip=job.gzip, lines=n,
                         **o)


def expire_exports(now=None) -> int:
    """Delete export files older than EXPORT_KEEP_DAYS (their download then answers 410 Gone);
    the job rows stay as the record of what was exported, by whom and when."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EXPORT_KEEP_DAYS)
    removed = 0
    for job in ExportJob.objects.filter(status=JobStatus.SUCCEEDED, finished_at__lt=cutoff).exclude(file_path=""):
        Path(job.file_path).unlink(missing_ok=True)
        ExportJob.objects.filter(pk=job.pk).update(file_path="")
        removed += 1
    return removed
