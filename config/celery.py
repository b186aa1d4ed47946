import os

from celery import Celery
from celery.signals import before_task_publish, setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("stepwise")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's Celery entry points live in its `celery_tasks` module (an annotator's "task" is
# something else: labeling.queue).
app.autodiscover_tasks(related_name="celery_tasks")


@setup_logging.connect
def _logging(**_):
    # Celery (worker and beat) keeps its hands off logging when this signal has a receiver: the
    # same LOGGING as the web (config/logging.py, LOG_FORMAT and LOG_LEVEL; `-l` is not used).
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@before_task_publish.connect
def _carry_request_id(headers=None, **_):
    # a task sent while a request is served logs with that request's id (config.logging reads it back)
    from config.logging import REQUEST_ID_HEADER
    from config.request_context import request_id

    if headers is not None and (rid := request_id.get()):
        headers.setdefault(REQUEST_ID_HEADER, rid)


# the round tasks that may train: the first one, and the one after generation; and loading a registered checkpoint
TRAINING_TASKS = ("activelearn.tasks.run_round", "activelearn.tasks.generation_done",
                  "activelearn.tasks.register_model")
GENERATION_TASKS = ("activelearn.tasks.generate_chunk",)


def route_task(name, args, kwargs, options, task=None, **_):
    """task_routes: training to TRAIN_QUEUE, sampling from the policy to GENERATE_QUEUE, when set (read
    per call, so tests can change them)."""
    from django.conf import settings

    if name in TRAINING_TASKS and settings.TRAIN_QUEUE:
        return {"queue": settings.TRAIN_QUEUE}
    if name in GENERATION_TASKS and settings.GENERATE_QUEUE:
        return {"queue": settings.GENERATE_QUEUE}
    return None
