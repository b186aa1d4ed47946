from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class LabelingConfig(AppConfig):
    name = "labeling"
    verbose_name = "Labelling"

    def ready(self):
        # Registers the import/export and queue tasks in every process (jobs are sent by name).
        from labeling import celery_tasks  # noqa: F401

        post_migrate.connect(_sync_role_groups, dispatch_uid="stepwise-sync-role-groups")
        post_migrate.connect(_default_project, sender=self, dispatch_uid="stepwise-default-project")


def _sync_role_groups(sender, **kwargs):
    # post_migrate fires once per app and each app's permissions are created on its own
    # signal: sync on the last app's, when every permission a role needs exists.
    if sender.name == list(apps.get_app_configs())[-1].name:
        from labeling.people import roles

        roles.sync_groups()


def _default_project(sender, using, **kwargs):
    from django.db import connections

    from labeling.models import Project
    from labeling.people.projects import ensure_default_project

    # not after migrating back to before projects existed
    if Project._meta.db_table in connections[using].introspection.table_names():
        ensure_default_project()
