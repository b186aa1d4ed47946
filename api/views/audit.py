"""The audit trail (admins): who imported, exported, changed roles, ran rounds, activated
models, made or revoked tokens and decided screenings, newest first."""
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import generics

from labeling import roles, selectors

from .. import filters
from ..permissions import has_perm
from ..serializers_audit import AuditEventOut


class AuditList(generics.ListAPIView):
    permission_classes = [has_perm(roles.VIEW_AUDIT)]
    serializer_class = AuditEventOut
    queryset = selectors.audit_events()
    filter_backends = [DjangoFilterBackend]
    filterset_class = filters.AuditFilter
