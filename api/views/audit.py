"""The audit trail (admins): who imported, exported, changed roles, ran rounds, activated
models, made or revoked tokens and decided screenings, newest first."""
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from api import filters
from api.permissions import has_perm
from api.serializers.audit import AuditEventOut
from labeling.people import roles
from labeling.selectors import audit_events


class AuditList(generics.ListAPIView):
    permission_classes = [has_perm(roles.VIEW_AUDIT)]
    serializer_class = AuditEventOut
    queryset = audit_events()
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.AuditFilter
