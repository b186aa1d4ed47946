"""Model versions of the PRM registry (ML staff)."""
from django.db import transaction
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from activelearn.models import ModelVersion
from activelearn.prm import registry
from api import scoping
from api.schema import Error
from api.serializers.model_versions import ModelVersionOut
from labeling.people import roles


class ModelList(scoping.ProjectScoped, generics.ListAPIView):
    project_perm = roles.VIEW_MODELS
    serializer_class = ModelVersionOut
    queryset = ModelVersion.objects.select_related("project").order_by("-id")
    filter_backends = [scoping.ProjectFilter]


class ModelDetail(scoping.ProjectScoped, generics.RetrieveAPIView):
    project_perm = roles.VIEW_MODELS
    serializer_class = ModelVersionOut
    queryset = ModelList.queryset


class ActivateModel(APIView):
    permission_classes = [scoping.in_project(roles.RUN_ROUNDS)]

    @extend_schema(request=None, summary="Make this version the one that scores and selects (in its project)",
                   responses={200: ModelVersionOut,
                              400: OpenApiResponse(Error, description="Only a ready version can be active.")})
    @transaction.atomic
    def post(self, request, pk):
        version = scoping.get_scoped(ModelVersion.objects.select_for_update(), request, roles.RUN_ROUNDS, pk=pk)
        try:
            registry.activate_version(version, actor=request.user)
        except ValueError as exc:
            raise ValidationError({"status": str(exc)}) from None
        return Response(ModelVersionOut(version).data)
