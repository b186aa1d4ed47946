"""Migration 0021 on a database filled by the previous schema: everything lands in the default project.

Every table that gained a project keeps its rows, each now in project 1 ("default", with the settings
the instance ran under); a project made afterwards takes the next id; rows made without a project
(the code paths that do not name one yet, and raw SQL) go to the default project. People with a login
keep their role as members of the default project.
"""
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

BEFORE = [("labeling", "0020_lease_index_with_created"), ("activelearn", "0006_auto_label_stage")]


def _fill(apps) -> dict:
    """One row of every table that gains a project, as the previous code wrote them."""
    now = datetime(2026, 1, 2, tzinfo=UTC)
    problem = apps.get_model("labeling", "Problem").objects.create(text="What is 2+2?", content_hash="p" * 64)
    solution = apps.get_model("labeling", "Solution").objects.create(problem=problem, steps=["2+2=4", "# Answer\n\n4"],
                                                                       content_hash="s" * 64)
    apps.get_model("labeling", "QueueEntry").objects.create(solution=solution, overlap=2, completed=1)
    annotator = apps.get_model("labeling", "Annotator").objects.create()  # an imported labeller: no login
    reviewer = apps.get_model("auth", "User").objects.create(username="old-admin")
    apps.get_model("labeling", "Annotator").objects.create(user=reviewer, role="admin")
    apps.get_model("labeling", "LabeledPass").objects.create(
        annotator=annotator, problem=problem, solution=solution, submitted_at=now, steps=[{"rating": 1}],
        finish_reason="solution", natural_key="k" * 64)
    apps.get_model("labeling", "ImportJob").objects.create(original_filename="old.jsonl")
    apps.get_model("labeling", "ExportJob").objects.create()
    apps.get_model("labeling", "AutoLabelRun").objects.create(key="old-run", source="rollout", labeller_version="1")
    version = apps.get_model("activelearn", "ModelVersion").objects.create(base_model="micro", status="ready")
    apps.get_model("activelearn", "Round").objects.create(generation=1, model_version=version)
    apps.get_model("activelearn", "PolicyConnection").objects.create(name="old-policy")
    apps.get_model("activelearn", "GenerationRun").objects.create(key="round-1", connection="old-policy",
                                                                  created_at=now - timedelta(days=1))
    return {"labeling": ["Problem", "Solution", "QueueEntry", "LabeledPass", "ImportJob", "ExportJob", "AutoLabelRun"],
            "activelearn": ["ModelVersion", "Round", "PolicyConnection", "GenerationRun"]}


@pytest.mark.django_db(transaction=True)
def test_a_database_of_the_previous_schema_moves_into_the_default_project(settings):
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    tables = _fill(executor.loader.project_state(BEFORE).apps)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    from django.apps import apps

    from labeling.models import Problem, Project

    default = Project.objects.get(pk=1)
    assert (default.slug, default.qc_every, default.lease_seconds) == ("default", settings.LABEL_QC_EVERY,
                                                                       settings.LABEL_LEASE_SECONDS)
    for app, names in tables.items():
        for name in names:
            model = apps.get_model(app, name)
            assert list(model.objects.values_list("project_id", flat=True)) == [1], name  # kept, and in project 1
    # who could log in keeps their role, in the default project; an imported labeller without a login is no member
    assert list(default.members.values_list("user__username", "role")) == [("old-admin", "admin")]
    assert Project.objects.create(slug="code", name="Code").pk == 2  # the sequence passed the default's id
    assert Problem.objects.create(text="new", content_hash="n" * 64).project_id == 1
    with connection.cursor() as cur:  # raw SQL that names no project: the column's own default
        cur.execute("INSERT INTO labeling_problem (text, content_hash, subject, source_id, extra, created_at) "
                    "VALUES ('raw', %s, '', '', '{}', CURRENT_TIMESTAMP) RETURNING project_id", ["r" * 64])
        assert cur.fetchone()[0] == 1


@pytest.mark.django_db(transaction=True)
def test_after_a_flush_the_default_project_is_there_again():
    """A transactional test's teardown empties every table; post_migrate makes the default project again."""
    from django.core.management import call_command

    from labeling.models import Problem, Project

    call_command("flush", interactive=False, verbosity=0)
    assert list(Project.objects.values_list("pk", "slug")) == [(1, "default")]
    assert Problem.objects.create(text="after", content_hash="a" * 64).project.slug == "default"
