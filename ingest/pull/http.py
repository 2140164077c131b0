"""The HTTP session of the pulls: honours 429 + Retry-After as the APIs document it.

Shopify answers a throttled request with 429 and `Retry-After: 2.0` (seconds, with a
decimal point); dlt's and urllib3's retry helpers only understand whole seconds or an HTTP
date and would fall back to their own backoff, so RateLimitedAdapter waits exactly as long
as the API asks (hand-written for that one reason; 5xx and connection errors are retried
by urllib3's Retry). Secrets travel in headers only and never appear in messages.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

logger = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER_SECONDS = 2.0
MAX_RATE_LIMITED_ATTEMPTS = 8


class RateLimitedError(RuntimeError):
    """The API kept answering 429 after MAX_RATE_LIMITED_ATTEMPTS waits."""


def _retry_after_seconds(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


class RateLimitedAdapter(HTTPAdapter):
    """Sends again after a 429, once Retry-After has passed. In the transport adapter, so
    it runs before any response hook (dlt's REST client raises on 4xx in its hooks)."""

    def __init__(self, sleep: Callable[[float], None], **kwargs: object) -> None:
        super().__init__(**kwargs)
        self._sleep = sleep

    def send(self, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        response = super().send(request, **kwargs)
        attempts = 0
        while response.status_code == 429:
            attempts += 1
            if attempts > MAX_RATE_LIMITED_ATTEMPTS:
                raise RateLimitedError(
                    f"{request.method} {str(request.url).split('?')[0]}: still rate limited "
                    f"(429) after {MAX_RATE_LIMITED_ATTEMPTS} waits"
                )
            wait = _retry_after_seconds(response)
            logger.info("rate limited (429): waiting %.1f s as Retry-After asks", wait)
            response.close()
            self._sleep(wait)
            response = super().send(request, **kwargs)
        return response


def pull_session(sleep: Callable[[float], None] = time.sleep) -> requests.Session:
    """A session that waits out 429s (Retry-After) and retries 5xx/connection errors."""
    session = requests.Session()
    retry = Retry(
        total=5,
        backoff_factor=0.5,
        status_forcelist=(500, 502, 503, 504),
        allowed_methods=("GET",),
        respect_retry_after_header=False,
        raise_on_status=False,
    )
    adapter = RateLimitedAdapter(sleep, max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
