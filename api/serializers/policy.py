"""Policy connections and generation runs (ML staff). A connection's settings are its options
(activelearn.policy.connection.OPTIONS); no key is ever part of them."""
from rest_framework import serializers

from activelearn.models import GenerationRun, PolicyConnection
from activelearn.options import OptionError
from activelearn.policy import connection, generation
from api.serializers.projects import project_in


class ConnectionOut(serializers.Serializer):
    name = serializers.CharField()
    project = serializers.CharField(allow_null=True, help_text="The project's slug; null for a built-in one.")
    builtin = serializers.BooleanField(help_text="demo and default are built in and cannot be changed here.")
    settings = serializers.DictField(help_text="The connection's options; `api_key_env` names the workers' "
                                     "environment variable with the key (never the key).")
    api_key_set = serializers.BooleanField(help_text="Whether that variable is granted to this connection for its "
                                           "host (POLICY_KEY_GRANTS) and set where this answer was made (the web "
                                           "process); the workers read their own.")
    problem = serializers.CharField(help_text="Why the connection cannot be used now (its host is no longer "
                                    "allowed, its key variable is not granted to it...), naming the option; empty "
                                    "when it can.")
    created_at = serializers.DateTimeField(allow_null=True)
    updated_at = serializers.DateTimeField(allow_null=True)


def connection_out(name: str, row: PolicyConnection | None = None) -> dict:
    """A connection as it is shown, also when the settings changed since it was stored so that it can no
    longer be used (then `problem` says why: a list of connections never fails on one of them)."""
    problem = ""
    try:
        merged = connection.resolve(name).settings if row is None else connection.parse(row.settings)
    except OptionError as exc:
        merged, problem = {**connection.parse({}), **(row.settings if row else {})}, f"{exc.field}: {exc.message}"
    api_key_set, key_problem = connection.key_state(name, merged, row)
    conn = connection.Connection(name, merged)
    settings = {k: v for k, v in conn.public().items() if k not in ("connection", "api_key_set")}
    return {"name": name, "project": row.project.slug if row else None, "builtin": row is None, "settings": settings,
            "api_key_set": api_key_set, "problem": problem or key_problem,
            "created_at": row.created_at if row else None, "updated_at": row.updated_at if row else None}


class ConnectionIn(serializers.Serializer):
    project = project_in()
    name = serializers.CharField(max_length=64)
    settings = serializers.DictField(help_text="Options of the connection; base_url and model are required.")


class ConnectionPatch(serializers.Serializer):
    settings = serializers.DictField(help_text="The options to change; the others stay.")


class GenerationRunOut(serializers.ModelSerializer):
    project = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    round = serializers.IntegerField(source="round.generation", allow_null=True, read_only=True)
    summary = serializers.SerializerMethodField(help_text="Samples by outcome and the run's cost.")

    class Meta:
        model = GenerationRun
        fields = ["id", "project", "key", "round", "connection", "config", "status", "problems", "samples_wanted",
                  "error",
                  "created_at", "finished_at", "summary"]

    def get_summary(self, obj) -> dict:
        return generation.RUNS.summary(obj)

    def to_representation(self, obj):
        data = super().to_representation(obj)
        data["config"] = {k: v for k, v in data["config"].items() if k != "problem_ids"} | {
            "problems": len(obj.config.get("problem_ids", []))}
        return data
