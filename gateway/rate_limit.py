"""Rate limits: token buckets per client IP (before any work) and per authenticated caller.

The per-IP bucket is taken by an ASGI middleware before the request is parsed, so a flood
costs the gateway a dictionary lookup. The per-caller bucket is taken only after the
signature has been verified (`deps.current_member`), so nobody can spend a member's budget
by claiming its address. A refusal is 429 `rate.limited` with `Retry-After` in whole seconds.
Buckets live in an LRU of bounded size: a forgotten bucket comes back full, which errs on the
side of serving.
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict

from starlette.types import ASGIApp, Receive, Scope, Send

from compute.jobs.peers import IDENTITY_PATH, PARAMS_PATH
from compute.transport.http import MESSAGES_PATH
from gateway.clock import Clock
from gateway.errors import GatewayError
from gateway.settings import RateLimits


class RateLimited(GatewayError):
    """The caller or its IP sent more requests than its bucket allows."""

    status = 429

    def __init__(self, code: str, message: str, retry_after: int) -> None:
        super().__init__(code, message)
        self.retry_after = retry_after


class TokenBuckets:
    """One token bucket (rate per second, burst) per key, in an LRU of at most `capacity` keys."""

    def __init__(self, clock: Clock, rate: float, burst: int, capacity: int = 65_536) -> None:
        self._clock, self._rate, self._burst, self._capacity = clock, rate, burst, capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one token of `key`'s bucket: 0 if allowed, else the seconds until one is available."""
        now = self._clock.now()
        with self._lock:
            tokens, at = self._buckets.pop(key, (float(self._burst), now))
            tokens = min(float(self._burst), tokens + (now - at) * self._rate)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / self._rate
            self._buckets[key] = (tokens - 1 if wait == 0 else tokens, now)
            if len(self._buckets) > self._capacity:
                self._buckets.popitem(last=False)
        return wait


def refusal(wait: float, who: str) -> RateLimited:
    """The 429 for a bucket that is empty for `wait` more seconds."""
    seconds = max(1, math.ceil(wait))
    return RateLimited("rate.limited", f"Too many requests from {who}; retry in {seconds}s.", seconds)


class Throttle:
    """The buckets the gateway keeps: per IP (API and explorer), per IP on transport, per caller."""

    def __init__(self, clock: Clock, limits: RateLimits) -> None:
        self.ip = TokenBuckets(clock, limits.ip_rate, limits.ip_burst)
        self.transport = TokenBuckets(clock, limits.transport_rate, limits.transport_burst)
        self.caller = TokenBuckets(clock, limits.caller_rate, limits.caller_burst)

    def check_caller(self, address: str) -> None:
        """Raise 429 when the authenticated caller's bucket is empty."""
        wait = self.caller.take(address.lower())
        if wait:
            raise refusal(wait, address)


async def _refuse(send: Send, error: RateLimited) -> None:
    body = json.dumps({"code": error.code, "message": error.message}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(error.retry_after).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# A hosted runner's peers poll its identity while they wait for a job, one poller per job: the
# party routes share the transport bucket, so parallel jobs are not throttled as API clients.
PARTY_ROUTES = (MESSAGES_PATH, IDENTITY_PATH, PARAMS_PATH + "/")


class IpRateLimitMiddleware:
    """Takes a token from the client IP's bucket before the request reaches the app."""

    def __init__(self, app: ASGIApp, buckets: Throttle) -> None:
        self.app, self.buckets = app, buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        ip = (scope.get("client") or ("unknown", 0))[0]
        table = self.buckets.transport if scope["path"].startswith(PARTY_ROUTES) else self.buckets.ip
        wait = table.take(ip)
        if wait:
            await _refuse(send, refusal(wait, ip))
            return
        await self.app(scope, receive, send)
