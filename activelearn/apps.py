from django.apps import AppConfig


class ActivelearnConfig(AppConfig):
    name = "activelearn"
    verbose_name = "Active learning"

    def ready(self):
        from celery.signals import beat_embedded_init, beat_init, worker_ready

        # Registers the round's tasks in every process (the web sends them by name).
        from activelearn import celery_tasks  # noqa: F401

        worker_ready.connect(_start_heartbeat, dispatch_uid="stepwise-worker-heartbeat")
        beat_init.connect(_start_beat, dispatch_uid="stepwise-beat-heartbeat")
        beat_embedded_init.connect(_follow_worker, dispatch_uid="stepwise-beat-follows-worker")


def _start_heartbeat(sender=None, **_):
    # every worker says it is alive (activelearn.heartbeat), so pages can tell when none is
    from activelearn import heartbeat

    heartbeat.start(getattr(sender, "hostname", None))


def _start_beat(sender=None, **_):
    # the scheduler too: one beat per schedule file, seen alive
    from activelearn import heartbeat

    heartbeat.start_beat(getattr(sender, "schedule_filename", None))


def _follow_worker(sender=None, **_):
    # a beat embedded in a worker (a child process) goes when that worker goes, however it goes
    import os

    from activelearn import heartbeat

    heartbeat.exit_with_parent(os.getppid())
