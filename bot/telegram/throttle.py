"""A per-user limit on incoming questions, with one polite notice per burst rather than silence."""

from __future__ import annotations

import enum
import time
from collections import deque
from collections.abc import Callable


class Verdict(enum.Enum):
    ALLOW = "allow"     # answer it
    NOTIFY = "notify"   # over the limit: say so, once
    DROP = "drop"       # over the limit and already told: send nothing


class Throttle:
    """At most `limit` questions per user in any `period` seconds (a sliding window)."""

    def __init__(self, limit: int, period: float = 60.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.period = period
        self._clock = clock
        self._seen: dict[int, deque[float]] = {}
        self._told: set[int] = set()

    def check(self, user_id: int) -> Verdict:
        """Count one question from user_id and say whether to answer it."""
        now = self._clock()
        times = self._seen.setdefault(user_id, deque())
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(times) < self.limit:
            times.append(now)
            self._told.discard(user_id)
            return Verdict.ALLOW
        if user_id in self._told:
            return Verdict.DROP
        self._told.add(user_id)
        return Verdict.NOTIFY
