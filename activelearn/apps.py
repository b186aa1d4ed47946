from django.apps import AppConfig


class ActivelearnConfig(AppConfig):
    name = "activelearn"
    verbose_name = "Active learning"

    def ready(self):
        from celery.signals import worker_ready

        # Registers the round's tasks in every process (the web sends them by name).
        from activelearn import celery_tasks  # noqa: F401

        worker_ready.connect(_start_heartbeat, dispatch_uid="stepwise-worker-heartbeat")


def _start_heartbeat(sender=None, **_):
    # every worker says it is alive (activelearn.heartbeat), so pages can tell when none is
    from activelearn import heartbeat

    heartbeat.start(getattr(sender, "hostname", None))
