from django.apps import AppConfig
from django.core import checks


class ActivelearnConfig(AppConfig):
    name = "activelearn"
    verbose_name = "Active learning"

    def ready(self):
        from celery.signals import worker_ready

        # Registers the round's tasks in every process (the web sends them by name).
        from activelearn import celery_tasks  # noqa: F401

        worker_ready.connect(_start_heartbeat, dispatch_uid="stepwise-worker-heartbeat")
        checks.register(_key_grants)


def _key_grants(app_configs=None, **_):
    # a misspelt POLICY_KEY_GRANTS is found when a process starts, not by the first connection that needs it
    from django.core.exceptions import ImproperlyConfigured

    from activelearn.policy import keys

    try:
        keys.grants()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="stepwise.E101")]
    return []


def _start_heartbeat(sender=None, **_):
    # every worker says it is alive (activelearn.heartbeat), so pages can tell when none is
    from activelearn import heartbeat

    heartbeat.start(getattr(sender, "hostname", None))
