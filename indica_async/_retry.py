"""The tenacity retry policy: what is retried, how long to wait, when to stop."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

import tenacity

from . import _ratelimit
from ._config import RetryPolicy
from ._errors import APIConnectionError, APIStatusError, RateLimitError
from ._sansio import TRANSIENT_STATUSES

logger = logging.getLogger("indica_async")


def is_transient(exc: BaseException) -> bool:
    """429, 500, 502, 503, 504, resets, cut-short bodies and timeouts; nothing else."""
    if isinstance(exc, APIStatusError):
        return exc.status in TRANSIENT_STATUSES
    return isinstance(exc, APIConnectionError)


async def _sleep(seconds: float) -> None:
    await _ratelimit.sleep(seconds)


def _wait(policy: RetryPolicy) -> Callable[[tenacity.RetryCallState], float]:
    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, policy.max_retry_after)
        # Exponential backoff plus up to one initial step of jitter, so that tasks
        # failing together do not retry together.
        base: float = policy.initial_backoff * 2.0 ** (state.attempt_number - 1)
        return min(policy.max_backoff, base + random.uniform(0, policy.initial_backoff))

    return wait


class _StopAtDeadline(tenacity.stop.stop_base):
    """Stop when the next wait would end past the call's deadline (on ``clock``).

    The call's one deadline: the client computes it once, and the same value bounds
    the waits between attempts (here), the wait at the rate-limit gate and each
    attempt's own timeout (in the client).
    """

    def __init__(self, deadline: float, clock: Callable[[], float]) -> None:
        self.deadline = deadline
        self.clock = clock

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self.clock() + (retry_state.upcoming_sleep or 0.0) >= self.deadline


def build_retrying(
    policy: RetryPolicy,
    *,
    deadline: float,
    clock: Callable[[], float],
    description: str,
    on_retry: Callable[[], None] | None = None,
) -> tenacity.AsyncRetrying:
    """A fresh `tenacity.AsyncRetrying` for one call (it holds per-call state).

    ``deadline`` is when the call's time budget ends, on ``clock``.
    """

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        wait = state.upcoming_sleep
        if on_retry is not None:
            on_retry()
        logger.warning(
            "retrying %s in %.2f s (attempt %d of %d failed: %s)",
            description,
            wait,
            state.attempt_number,
            policy.max_retries + 1,
            _describe(exc),
        )

    return tenacity.AsyncRetrying(
        sleep=_sleep,
        stop=(
            tenacity.stop_after_attempt(policy.max_retries + 1) | _StopAtDeadline(deadline, clock)
        ),
        wait=_wait(policy),
        retry=tenacity.retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
    )


def _describe(exc: BaseException | None) -> str:
    # Status and class only: bodies may hold personal data, and never the key.
    if isinstance(exc, APIStatusError):
        return f"{exc.status} {type(exc).__name__}"
    return type(exc).__name__ if exc is not None else "unknown"
