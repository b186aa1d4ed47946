"""CELERY_TRAIN_QUEUE: a round's training task goes to its own queue (a GPU worker takes only
that queue); scoring and the rest stay on CELERY_QUEUE. The message is caught where Celery hands
it to the broker, after routing."""
from unittest import mock

import pytest

from activelearn.celery_tasks import finish_round, score_chunk
from activelearn.models import Round
from activelearn.rounds import lifecycle as rounds
from config.celery import app as celery_app

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent():
    """(task name, queue name) of every message Celery would publish."""
    out = []

    def capture(producer, name, message, **options):
        queue = options.get("queue")
        out.append((name, getattr(queue, "name", queue) or options.get("routing_key")))

    with mock.patch.object(celery_app.amqp, "send_task_message", side_effect=capture):
        yield out


def _round() -> Round:
    return Round.objects.create(generation=1, config={}, stages={}, attempt=1)


def test_training_goes_to_the_train_queue_when_set(settings, sent):
    settings.TRAIN_QUEUE = "gpu-train"
    r = _round()
    assert rounds.dispatch(r.pk)
    score_chunk.apply_async((r.pk, 1, [1, 2]))
    finish_round.apply_async((r.pk, 1))
    default = celery_app.conf.task_default_queue
    assert sent == [("activelearn.tasks.run_round", "gpu-train"), ("activelearn.tasks.score_chunk", default),
                    ("activelearn.tasks.finish_round", default)]


def test_without_a_train_queue_everything_shares_the_default_queue(settings, sent):
    settings.TRAIN_QUEUE = ""
    r = _round()
    assert rounds.dispatch(r.pk)
    assert sent == [("activelearn.tasks.run_round", celery_app.conf.task_default_queue)]
