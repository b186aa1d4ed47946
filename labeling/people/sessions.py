"""Sessions read from the cache (Redis) and kept in the database, that keep working while the cache is away.

Django's cached_db already reads through a failing cache to the database, but then fails the request
when it writes the session back to the cache, and when it checks a key's existence there. Labelling
must not notice Redis going away (bench/soak.py restarts it under load): those two fall back to the
database, a query more for as long as Redis is down. A login drops the key it replaces from the cache
when it can (what stays cached there is the anonymous session before the login, which nobody is sent
again). A logout still needs the cache, so it never leaves a cached signed-in session behind.
"""
import logging

from django.contrib.sessions.backends import cached_db
from django.contrib.sessions.backends.db import SessionStore as DBStore

log = logging.getLogger(__name__)


class SessionStore(cached_db.SessionStore):
    def load(self):
        try:
            return super().load()
        except Exception as exc:  # the cache client's errors (redis.ConnectionError, timeouts)
            log.warning("session cache unavailable, reading the database: %s", exc)
            return DBStore.load(self)

    def exists(self, session_key):
        try:
            return super().exists(session_key)
        except Exception as exc:
            log.warning("session cache unavailable, asking the database: %s", exc)
            return DBStore.exists(self, session_key)

    def cycle_key(self):
        self._old_key_may_stay_cached = True
        try:
            super().cycle_key()
        finally:
            self._old_key_may_stay_cached = False

    def delete(self, session_key=None):
        if not getattr(self, "_old_key_may_stay_cached", False):
            return super().delete(session_key)
        DBStore.delete(self, session_key)
        try:
            self._cache.delete(self.cache_key_prefix + session_key)
        except Exception as exc:
            log.warning("session cache unavailable, the replaced session stays cached until it expires: %s", exc)
