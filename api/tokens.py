"""Create, check and revoke API tokens. A key is `sw_` + 40 random characters; only its
sha256 is stored, so a database leak does not leak working keys."""
import functools
import hashlib
import secrets
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from api.models import ApiToken
from labeling.models import AuditAction
from labeling.people import audit
from labeling.people.rights import user_from_row, user_join, user_select
from labeling.storage.rows import columns, instance, table, width

PREFIX = "sw_"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # do not write on every request


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def create_token(user, name: str, *, created_by=None) -> tuple[ApiToken, str]:
    """Returns the token and its key; the key cannot be recovered later. `created_by` is who
    asked (None: a command, recorded as the OS user in the audit trail)."""
    key = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:10], key_hash=_digest(key),
                                    created_by=created_by or user)
    audit.record(created_by, AuditAction.TOKEN_CREATE, token, owner=user.get_username(), name=name,
                 prefix=token.prefix)
    return token, key


@transaction.atomic
def revoke_token(token: ApiToken, *, actor=None) -> None:
    # locked: two revokes at once give one event
    locked = ApiToken.objects.select_for_update().select_related("user").get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at = timezone.now()
        locked.save(update_fields=["revoked_at"])
        audit.record(actor, AuditAction.TOKEN_REVOKE, locked, owner=locked.user.get_username(), name=locked.name,
                     prefix=locked.prefix)
    token.revoked_at = locked.revoked_at


def user_for_key(key: str):
    """The active user a live key belongs to, or None."""
    token = _live_token(_digest(key))
    if token is None or not token.user.is_active:
        return None, None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user, token


@functools.cache
def _token_sql() -> str:
    # hand-written (labeling/storage/rows.py): the ORM would spend longer compiling it than PostgreSQL runs it
    return (f"SELECT {columns(ApiToken, 't')}, {user_select()} FROM {user_join()} "
            f"JOIN {table(ApiToken)} t ON t.user_id = u.id WHERE t.key_hash = %s AND t.revoked_at IS NULL")


def _live_token(digest: str) -> ApiToken | None:
    """The unrevoked token of this digest with its user, their profile and (PostgreSQL) permissions: one query."""
    if connection.vendor != "postgresql":
        return ApiToken.objects.filter(key_hash=digest, revoked_at__isnull=True).select_related(
            "user", "user__annotator").first()
    with connection.cursor() as cur:
        cur.execute(_token_sql(), [digest])
        row = cur.fetchone()
    if row is None:
        return None
    token = instance(ApiToken, row[:width(ApiToken)])
    token.user = user_from_row(row)
    return token
