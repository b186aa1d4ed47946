"""Request and response shapes of the annotator flow (documented in the OpenAPI schema).

The serializers check only types; every rule about what a pass may contain lives in
labeling.queue.submission, which the labelling page calls too.
"""
from rest_framework import serializers

from labeling.formats.limits import check_ratings
from labeling.models import FinishReason


class StepRatingIn(serializers.Serializer):
    rating = serializers.IntegerField(allow_null=True, help_text="-1, 0 or 1 (null only inside alternatives).")
    flagged = serializers.BooleanField(required=False, default=False, help_text="Marked 'unsure'.")
    alternatives = serializers.ListField(child=serializers.DictField(), required=False,
                                         help_text="Ratings of the alternative steps offered at a -1 step.")


class NextIn(serializers.Serializer):
    project = serializers.SlugField(required=False, allow_null=True, default=None,
                                    help_text="Claim within this project (yours); without it, across your projects "
                                              "by priority.")


def _outcome():
    # any JSON here: labeling.queue.submission says what it must be (an integer -1, 0 or 1; "1" or true is not)
    return serializers.JSONField(required=False, allow_null=True, default=None,
                                 help_text="An agent trace's outcome rating, -1, 0 or 1 (its final label); required "
                                           "to submit a trace, absent for other solutions.")


class DraftIn(serializers.Serializer):
    ratings = serializers.ListField(child=serializers.DictField(), validators=[check_ratings])
    active_ms = serializers.IntegerField(min_value=0, max_value=10**10, required=False, default=0)
    outcome = _outcome()


class SubmitIn(serializers.Serializer):
    client_id = serializers.UUIDField(help_text="Made by the client once per pass; a retry sends the same id.")
    ratings = serializers.ListField(child=serializers.DictField(), validators=[check_ratings])
    finish_reason = serializers.ChoiceField(choices=[FinishReason.FOUND_ERROR, FinishReason.SOLUTION])
    total_time = serializers.IntegerField(min_value=0, max_value=10**10, help_text="Active milliseconds.")
    reason_text = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    outcome = _outcome()


class StopIn(serializers.Serializer):
    """Give up or report a bad problem: a reason is required; ratings so far are kept."""

    client_id = serializers.UUIDField()
    reason_text = serializers.CharField(max_length=5000)
    ratings = serializers.ListField(child=serializers.DictField(), validators=[check_ratings], required=False,
                                    default=list)
    total_time = serializers.IntegerField(min_value=0, max_value=10**10, required=False, default=0)
    outcome = _outcome()


class TaskOut(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=["task", "screening"])
    problem = serializers.CharField()
    ground_truth_answer = serializers.CharField(allow_null=True)
    steps = serializers.ListField(child=serializers.CharField())
    alternatives = serializers.DictField()
    draft = serializers.DictField()
    expires_at = serializers.DateTimeField()
    trajectory = serializers.DictField(required=False, help_text="An agent trace's context: per step, the messages "
                                       "before it (role, name, text), and those after the last step; absent for "
                                       "other solutions.")


class NextOut(serializers.Serializer):
    lease = TaskOut(allow_null=True)
    reason = serializers.CharField(required=False,
                                   help_text="Why there is no task: all_done, waiting, screening_review.")
    message = serializers.CharField(required=False)


class ResegmentIn(serializers.Serializer):
    action = serializers.ChoiceField(choices=["merge", "split"], help_text="merge: this step and the next; split: "
                                     "this step at `at`.")
    step = serializers.IntegerField(min_value=0, max_value=10**6, help_text="The step (0-based).")
    at = serializers.IntegerField(min_value=1, max_value=10**7, required=False,
                                  help_text="split: the character of the step's text where the second part starts.")


class ReportIn(serializers.Serializer):
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class OkOut(serializers.Serializer):
    ok = serializers.BooleanField()


class SubmitOut(serializers.Serializer):
    ok = serializers.BooleanField()
    duplicate = serializers.BooleanField(help_text="True when this very submit had already landed (same task, same "
                                         "content): the answer names the pass stored then.")
    finish_reason = serializers.CharField()
    receipt = serializers.UUIDField(help_text="The client id under which the pass landed (the first one sent).")
