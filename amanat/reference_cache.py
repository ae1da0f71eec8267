"""Reference data read on almost every request and changed rarely (taxonomies, the calendar, API tokens).

Each kind of data is one `ReferenceCache`. Its values live in Django's cache: in Redis when `REDIS_URL`
is set, so every process shares one copy, otherwise in each process's memory. They are stored under a
generation number. The services that change the data call `invalidate()`, which drops the generation
at once (so the writer's own transaction reads its change) and again when the transaction commits
(so a value another process read before the commit is not kept). Every value also expires after
`timeout` seconds. Without Redis, that bounds how long another process can serve an old value.

Only immutable or freshly unpickled values come out of the cache, so callers may keep what they get.
"""

import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

_MISSING = object()


class ReferenceCache(Generic[T]):
    """One kind of reference data, cached by part (a code, a day, a token's hash) under a generation."""

    def __init__(self, name: str, *, timeout: int) -> None:
        self.name = name
        self.timeout = timeout
        self._generation_key = f"amanat:ref:{name}:generation"
        # part -> (generation, expiry on the monotonic clock, value), for `held`
        self._held: dict[str, tuple[str, float, Any]] = {}

    def _generation(self) -> str:
        generation = cache.get(self._generation_key)
        if generation is None:
            generation = uuid.uuid4().hex[:12]
            # Of two processes starting a generation at once, the first one's wins for both.
            if not cache.add(self._generation_key, generation, timeout=None):
                generation = cache.get(self._generation_key) or generation
        return str(generation)

    def get(self, part: str, build: Callable[[], T], *, keep_none: bool = True) -> T:
        """The cached value of `part`, built (and kept for `timeout` seconds) when missing.

        `keep_none=False` does not keep a None: a lookup of what does not exist (a wrong token, say)
        must not let anyone fill the cache.
        """
        key = f"amanat:ref:{self.name}:{self._generation()}:{part}"
        value = cache.get(key, _MISSING)
        if value is _MISSING:
            value = build()
            if value is not None or keep_none:
                cache.set(key, value, timeout=self.timeout)
        return value  # type: ignore[return-value]

    def held(self, part: str, build: Callable[[], Any]) -> Any:
        """Like `get`, but the value stays in this process's memory instead of the shared cache.

        For a large value read on most requests (every station's place): it is not copied out of
        the cache each time. Callers must not change it; it is dropped with the generation.
        """
        generation, now = self._generation(), time.monotonic()
        held = self._held.get(part)
        if held is not None and held[0] == generation and held[1] > now:
            return held[2]
        value = build()
        self._held[part] = (generation, now + self.timeout, value)
        return value

    def invalidate(self) -> None:
        """Forget every cached value, now and again when the caller's transaction commits."""
        cache.delete(self._generation_key)
        transaction.on_commit(lambda: cache.delete(self._generation_key))
