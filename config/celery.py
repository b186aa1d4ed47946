import os

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("stepwise")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_ready.connect
def _start_heartbeat(sender=None, **_):
    # every worker says it is alive (activelearn.heartbeat), so pages can tell when none is
    from activelearn import heartbeat

    heartbeat.start(getattr(sender, "hostname", None))
