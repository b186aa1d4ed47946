"""Active-learning rounds and worker health. The start request is generated from
activelearn.rounds.config.OPTIONS, so the schema documents exactly the options that
`parse_config` (the one parser of the page, the API and `start_round`) accepts."""
from rest_framework import serializers

from activelearn.models import Round
from activelearn.options import Option, describe_default
from activelearn.prm.public import public_name, scrub
from activelearn.rounds.config import OPTIONS
from activelearn.rounds.progress import round_summary
from api.serializers.projects import project_in
from labeling.models import RunStatus


def _help(o: Option) -> str:
    return f"{o.help} Default: {describe_default(o)}."


def option_field(o: Option) -> serializers.Field:
    """The serializer field of one round option: its type, bounds, choices, default and help."""
    common = {"default": o.default, "help_text": _help(o)}
    if o.nullable:
        common["allow_null"] = True
    if o.type is dict:  # checked by parse_config (policy_overrides: the connection's options)
        return serializers.DictField(**common)
    if o.type is list:
        return serializers.ListField(child=serializers.CharField(), **common)
    if o.check is not None:  # choices that depend on the settings (base_model): checked by parse_config
        return serializers.CharField(allow_blank=True, max_length=1000, **common)
    if o.choices:
        return serializers.ChoiceField(choices=list(o.choices), **common)
    if o.type is int:
        return serializers.IntegerField(min_value=o.min, max_value=o.max, **common)
    if o.type is float:
        return serializers.FloatField(min_value=o.min, max_value=o.max, **common)
    return serializers.CharField(allow_blank=True, max_length=1000, **common)


RoundConfigIn = type("RoundConfigIn", (serializers.Serializer,), {
    "__doc__": "A round's options; every one is optional (its default is used). Unknown options are refused.",
    "project": project_in(), **{o.name: option_field(o) for o in OPTIONS}})


class StageOut(serializers.Serializer):
    name = serializers.CharField(help_text="train, score, grade, select or queue (in this order).")
    label = serializers.CharField()
    status = serializers.CharField(help_text="pending, running, done, failed, or cancelled (it was running when "
                                             "the round was cancelled).")
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    seconds = serializers.FloatField(allow_null=True, help_text="Time taken; so far while running.")
    done = serializers.FloatField(allow_null=True, help_text="Units done (training steps, solutions scored); "
                                                             "live for a running scoring stage.")
    total = serializers.FloatField(allow_null=True, help_text="Units to do, when known.")
    fraction = serializers.FloatField(allow_null=True, help_text="done / total, from 0 to 1, when known.")
    result = serializers.DictField(help_text="What the stage recorded (model version, counts per bucket, ...).")


class SelectionSummaryOut(serializers.Serializer):
    selected = serializers.IntegerField()
    buckets = serializers.DictField(child=serializers.IntegerField(), help_text="Selected solutions per bucket.")
    wrong_answer = serializers.IntegerField(help_text="Selected solutions whose final answer is graded wrong.")
    correct_answer = serializers.IntegerField()
    ungraded = serializers.IntegerField()
    mean_score = serializers.FloatField(allow_null=True)
    min_score = serializers.FloatField(allow_null=True)
    max_score = serializers.FloatField(allow_null=True)


class RoundOut(serializers.Serializer):
    """A round (one generation) without its live progress."""

    id = serializers.IntegerField()
    project = serializers.CharField(help_text="The project's slug.")
    generation = serializers.IntegerField()
    status = serializers.ChoiceField(choices=RunStatus.choices)
    stage = serializers.CharField(allow_null=True, help_text="The stage running (or that failed), if any.")
    active = serializers.BooleanField(help_text="Queued or running.")
    config = serializers.DictField(help_text="The options it runs with (all of them, defaults filled in).")
    counts = serializers.DictField()
    model_version = serializers.IntegerField(allow_null=True, help_text="The model that scored and selected.")
    error = serializers.CharField(allow_blank=True, help_text="Why it failed; empty otherwise.")
    attempt = serializers.IntegerField()
    cancel_requested = serializers.BooleanField()
    created_by = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    dispatched_at = serializers.DateTimeField(allow_null=True, help_text="When its task reached the broker.")
    started_at = serializers.DateTimeField(allow_null=True)
    heartbeat_at = serializers.DateTimeField(allow_null=True, help_text="Last sign of life from its worker.")
    finished_at = serializers.DateTimeField(allow_null=True)

    def to_representation(self, instance):
        data = super().to_representation(round_summary(instance) if isinstance(instance, Round) else instance)
        return public(data)


def public(data: dict) -> dict:
    """No server path in a round: `config.base_model` by its public name (a round started before the
    allow-list may hold a path), and paths a worker or a library wrote into the rest replaced."""
    for key in ("config", "counts", "error", "metrics", "comparison", "stages", "generation_run"):
        if key in data:
            data[key] = scrub(data[key])
    if isinstance(data.get("config"), dict) and isinstance(data["config"].get("base_model"), str):
        data["config"]["base_model"] = public_name(data["config"]["base_model"])
    return data


class RoundDetailOut(RoundOut):
    """A round with the progress of every stage (computed when asked: poll it)."""

    stages = StageOut(many=True)
    stages_done = serializers.IntegerField()
    stages_total = serializers.IntegerField()
    seconds = serializers.FloatField(allow_null=True, help_text="Since it started (until it finished).")
    metrics = serializers.DictField(help_text="The trained model's training and validation figures (held out by "
                                    "problem: step AUROC, ProcessBench F1 and its threshold, final-answer AUROC per "
                                    "aggregation, sample sizes, where they were measured), the ORM's when it trained "
                                    "one, and a summary of best-of-N.")
    comparison = serializers.DictField(help_text="How the selection compares with the previous round's.")
    selection = SelectionSummaryOut()
    generation_run = serializers.DictField(allow_null=True, help_text="What the generate stage sampled: its run, "
                                           "samples stored/wanted, outcomes and cost (null: no generation).")
    aggregation = serializers.CharField(allow_null=True, help_text="How step scores made the solution scores it "
                                        "selected by: the round's `aggregation`, else its model's best on validation.")
    best_of_n = serializers.DictField(allow_null=True, help_text="Best-of-N over the round's fresh samples, recorded "
                                      "at its end: per method (prm, orm, majority, random) accuracy at each N, and the "
                                      "PRM's under each aggregation (null: no generation, or under 2 samples per "
                                      "problem).")


class WorkerOut(serializers.Serializer):
    hostname = serializers.CharField()
    started_at = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()


class WorkerStatusOut(serializers.Serializer):
    alive = serializers.BooleanField(help_text="At least one worker was seen within WORKER_DEAD_AFTER_SECONDS.")
    workers = WorkerOut(many=True, help_text="The workers seen lately.")
    last_seen = serializers.DateTimeField(allow_null=True, help_text="The last sign of life of any worker ever.")
