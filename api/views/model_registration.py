"""Registering a checkpoint trained elsewhere (ML staff): a request names it by its PRM_ALLOWED_BACKBONES name,
never by a path; a worker loads, saves and validates it (activelearn/prm/register.py)."""
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from activelearn.celery_tasks import register_model
from activelearn.models import ModelKind
from activelearn.prm import register
from activelearn.prm.allowlist import allowed_backbones, is_local
from activelearn.prm.heads import HEADS
from api import scoping
from api.schema import Error
from api.serializers.model_versions import ModelVersionOut
from labeling.people import roles


class RegisterIn(serializers.Serializer):
    checkpoint = serializers.CharField(max_length=200, help_text="A PRM_ALLOWED_BACKBONES name whose entry is a local "
                                       "checkpoint directory (never a path).")
    kind = serializers.ChoiceField(ModelKind.values, default=ModelKind.PRM)
    head = serializers.ChoiceField(HEADS, required=False, help_text="Default: what the checkpoint says or is.")
    step_format = serializers.JSONField(required=False, help_text="causal_lm: a preset name or StepFormat fields.")
    activate = serializers.BooleanField(default=False, help_text="Make it active once it is ready.")
    project = serializers.CharField(required=False, help_text="The project (slug); default: your only one.")


class RegisterModel(APIView):
    permission_classes = [scoping.in_project(roles.RUN_ROUNDS)]

    @extend_schema(request=RegisterIn, summary="Register a checkpoint trained elsewhere (loaded by a worker)",
                   responses={202: ModelVersionOut,
                              400: OpenApiResponse(Error, description="Not a configured checkpoint, or a bad option "
                                                                      "(`field` names it)."),
                              404: scoping.NOT_YOURS})
    def post(self, request):
        body = RegisterIn(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        project = scoping.target(request, roles.RUN_ROUNDS, data.get("project"))
        target = allowed_backbones().get(data["checkpoint"], "")
        if not target or not is_local(target):
            local = [name for name, t in allowed_backbones().items() if is_local(t)]
            raise ValidationError({"checkpoint": "must name a PRM_ALLOWED_BACKBONES entry that is a local directory: "
                                                 f"one of {', '.join(local) or '(none configured)'}"})
        model = {k: data[k] for k in ("head", "step_format") if k in data}
        try:
            version = register.start_registration(target, kind=data["kind"], model=model or None, project=project.pk)
        except ValueError as exc:
            field = "step_format" if "step_format" in str(exc) else "checkpoint"
            raise ValidationError({field: _public(str(exc), target, data["checkpoint"])}) from None
        register_model.delay(version.pk, data["activate"], request.user.pk)
        version.refresh_from_db()
        return Response(ModelVersionOut(version).data, status=status.HTTP_202_ACCEPTED,
                        headers={"Location": reverse("api-model", args=[version.pk])})


def _public(message: str, target: str, name: str) -> str:
    return message.replace(target, name)
