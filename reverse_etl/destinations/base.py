"""What every destination shares: the row/result types and a retrying HTTP transport."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from reverse_etl.http_pool import NETWORK_ERRORS, ConnectionPool, Response
from reverse_etl.ratelimit import (
    Backoff,
    Clock,
    EndpointLimit,
    RateLimiter,
    parse_retry_after,
    window_limiter,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)

# Operations a destination may be asked to perform on a batch of rows.
UPSERT, UPDATE, DELETE, LIST_ADD, LIST_REMOVE = (
    "upsert",
    "update",
    "delete",
    "list_add",
    "list_remove",
)
GDPR_DELETE = "gdpr_delete"
# consent withdrawn: the platform's own unsubscribe / suppression / opt-out (and, for a
# list/tag sync, removal from it)
UNSUBSCRIBE = "unsubscribe"
REMOVAL_OPS = frozenset({DELETE, LIST_REMOVE, UNSUBSCRIBE})
# a person merged into another (dbt fct_person_merges) merged at the vendor (``merges.py``)
MERGE = "merge"

# The operations each sync mode needs from its destination.
MODE_OPS: dict[str, frozenset[str]] = {
    "upsert": frozenset({UPSERT}),
    "update": frozenset({UPDATE}),
    "mirror": frozenset({UPSERT, DELETE}),
    "list": frozenset({LIST_ADD, LIST_REMOVE}),
    "gdpr_delete": frozenset({GDPR_DELETE}),
}
_ENV = re.compile(r"^[A-Z_][A-Z0-9_]*$")


class SyncConfigError(ValueError):
    """A sync file failed validation. The message names the file and the field."""


def secret_from_env(env_name: str) -> SecretStr:
    """Read a secret from the environment. The error names the variable, never a value."""
    value = os.environ.get(env_name)
    if not value:
        raise SyncConfigError(f"environment variable {env_name} is not set (secret)")
    return SecretStr(value)


class DestinationConfig(BaseModel):
    """The ``destination:`` block of a sync. Each destination module subclasses it with a
    ``type: Literal[...]`` discriminator and its own fields (``*_env`` = secret variable
    names), and registers it together with its class (``@register``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # object values that hold memberships (a list/tag), which only mode 'list' may use
    membership_objects: ClassVar[frozenset[str]] = frozenset()

    base_url: str | None = None
    batch_size: int | None = Field(default=None, ge=1)
    timeout_s: float = Field(default=30.0, gt=0)
    max_attempts: int = Field(default=8, ge=1, le=50)
    requests_per_second: float | None = Field(default=None, gt=0)

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.match(r"^https?://", v):
            raise ValueError("must start with http:// or https://")
        return v.rstrip("/") if v else v

    @field_validator("*", mode="after")
    @classmethod
    def _env_names(cls, v: Any, info: Any) -> Any:
        if info.field_name.endswith("_env") and isinstance(v, str) and not _ENV.match(v):
            raise ValueError("must be the NAME of an environment variable (A-Z, 0-9, _)")
        return v

    def check(self, sync: Any) -> None:
        """Raise ValueError when this destination block cannot serve the sync."""
        mode = sync.mode
        obj = getattr(self, "object", None)
        if obj in self.membership_objects and mode not in ("list", "gdpr_delete"):
            raise ValueError(f"destination object {obj!r} holds memberships: it needs mode 'list'")
        if mode == "list" and self.membership_objects and obj not in self.membership_objects:
            raise ValueError(
                f"mode 'list' needs destination.object in {sorted(self.membership_objects)}"
                f" (got {obj!r})"
            )

    def secret_env_names(self) -> list[str]:
        return [
            v for k, v in self.model_dump().items() if k.endswith("_env") and isinstance(v, str)
        ]


@dataclass(slots=True)
class Row:
    pk: str
    row_hash: str
    payload: dict[str, Any]  # destination field (dotted path) -> value; None = null
    dest_id: str | None = None  # id the destination gave this record on a previous run
    kind: str = "create"  # create | update | remove (from the plan)
    identity: str | None = None  # JSON of the identity fields (email, ...) kept in state
    record_json: str | None = None  # the API's JSON record for this row, rendered by DuckDB
    # Idempotency key of this emission: the same while the operation is retried or re-sent
    # after a crash, new for every later lifecycle event (the engine derives it from the run
    # that first planned it). Rows built by hand get one from pk and hash.
    event_id: str = ""

    def __post_init__(self) -> None:
        if not self.event_id:
            self.event_id = hashlib.sha256(f"{self.pk}|{self.row_hash}".encode()).hexdigest()[:32]


class RowBatch(Sequence[Row]):
    """A batch of plan rows as DuckDB returned them (tuples of ``COLUMNS``), for destinations
    whose record DuckDB renders whole (``record_is_complete``): no Row object is built per
    row unless someone iterates or indexes the batch (a slice is a RowBatch again). Such a
    destination reads the record, key and event id only: the rows carry no payload, hash or
    identity."""

    COLUMNS = ("__pk", "__dest_id", "__kind", "__record", "__event_id", "__n")
    __slots__ = ("tuples",)

    def __init__(self, tuples: list[tuple]) -> None:
        self.tuples = tuples

    def __len__(self) -> int:
        return len(self.tuples)

    def __getitem__(self, i):  # type: ignore[override]
        if isinstance(i, slice):
            return RowBatch(self.tuples[i])
        pk, dest_id, kind, record, event_id, _n = self.tuples[i]
        return Row(pk, "", {}, dest_id, kind, None, record, event_id)

    def column(self, name: str) -> list[Any]:
        j = self.COLUMNS.index(name)
        return [t[j] for t in self.tuples]


@dataclass(slots=True)
class RowResult:
    pk: str
    ok: bool
    reason: str | None = None
    dest_id: str | None = None


class DestinationError(Exception):
    """Base error; messages never include secrets or request bodies."""


class TransientError(DestinationError):
    """Retries exhausted on 429/5xx/timeouts/resets: stop the run, nothing confirmed."""


class BatchRejectedError(DestinationError):
    """The API rejected the whole batch (4xx) — the engine bisects to isolate bad rows."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FatalError(DestinationError):
    """Authentication/configuration errors: retrying or bisecting cannot help."""


# A whole batch refused with one of these is wrong credentials, a missing list/endpoint or
# a request too large: no half of it would fare better, so the run fails (no bisection).
FAIL_RUN_STATUSES = frozenset({401, 403, 404, 413})


def batch_error(status: int, reason: str) -> DestinationError:
    """The error for a whole-batch refusal: bisect (BatchRejectedError) or fail the run."""
    if status in FAIL_RUN_STATUSES:
        return FatalError(reason)
    return BatchRejectedError(reason)


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    throttled: int = 0
    by_endpoint: dict[str, int] = field(default_factory=dict)


class HttpTransport:
    """Keep-alive HTTP (``http_pool``) with a rate limiter, Retry-After, jittered backoff and
    secret scrubbing. ``transport``: an httpx transport (``httpx.MockTransport`` in tests)
    that answers instead of the network."""

    def __init__(
        self,
        base_url: str,
        *,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30.0,
        max_attempts: int = 8,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        backoff: Backoff | None = None,
        secrets: Iterable[str] = (),
        transport: httpx.BaseTransport | None = None,
        endpoint_limits: Iterable[EndpointLimit] = (),
    ) -> None:
        self.clock = clock or Clock()
        self.limiter = limiter or RateLimiter(50, clock=self.clock)
        # the vendor's published windows per endpoint (or pool of endpoints): one token bucket
        # each, used instead of the destination-wide limiter for the matching requests
        self._endpoint_limits = [
            (m, re.compile(p), window_limiter(windows, self.clock))
            for m, p, windows in endpoint_limits
        ]
        self.backoff = backoff or Backoff(rng=random.Random())
        self.max_attempts = max_attempts
        self._secrets = [s for s in secrets if s]
        self.stats = CallStats()
        self.pool = (
            ConnectionPool(base_url, headers or {}, timeout_s)
            if transport is None
            else _HttpxPool(base_url, headers or {}, timeout_s, transport)
        )

    def _limiter_for(self, method: str, path: str) -> RateLimiter:
        path = path.split("?")[0]
        for m, pattern, limiter in self._endpoint_limits:
            if m in (method, "*") and pattern.match(path):
                return limiter
        return self.limiter

    def scrub(self, text: str) -> str:
        for s in self._secrets:
            text = text.replace(s, "***")
        return text

    def close(self) -> None:
        self.pool.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        ok_statuses: Callable[[int], bool] = lambda s: 200 <= s < 300,
    ) -> Response:
        """Send with retries. Returns a response whose status is OK or a non-retryable 4xx.

        429 -> honour Retry-After (seconds or HTTP date), slow the limiter down, retry.
        5xx, timeouts, connection resets -> jittered exponential backoff, retry.
        """
        if json_body is not None:
            content = json.dumps(json_body, separators=(",", ":"), default=str).encode()
            headers = {"Content-Type": "application/json", **(headers or {})}
        endpoint = f"{method} {path.split('?')[0]}"
        last_problem = "no attempt"
        for attempt in range(self.max_attempts):
            limiter = self._limiter_for(method, path)
            limiter.acquire()
            self.stats.requests += 1
            self.stats.by_endpoint[endpoint] = self.stats.by_endpoint.get(endpoint, 0) + 1
            try:
                resp = self.pool.request(
                    method, path, content=content, headers=headers, params=params
                )
            except NETWORK_ERRORS as exc:
                last_problem = f"{type(exc).__name__}"
                self.stats.retries += 1
                self.clock.sleep(self.backoff.delay(attempt))
                continue
            status = resp.status_code
            if status == 429:
                self.stats.throttled += 1
                self.stats.retries += 1
                retry_after = parse_retry_after(resp.headers.get("Retry-After"), self.clock.now())
                if retry_after is None:  # Braze: the window's reset as epoch seconds
                    reset = resp.headers.get("X-RateLimit-Reset")
                    if reset and reset.replace(".", "", 1).isdigit():
                        retry_after = max(0.0, float(reset) - self.clock.now())
                if retry_after is None:  # HubSpot: no Retry-After; wait out the rolling window
                    interval = resp.headers.get("X-HubSpot-RateLimit-Interval-Milliseconds")
                    if interval and interval.isdigit():
                        retry_after = int(interval) / 1000.0
                limiter.on_throttle(retry_after, fallback=self.backoff.delay(attempt))
                last_problem = "HTTP 429"
                continue
            if status >= 500:
                last_problem = f"HTTP {status}"
                self.stats.retries += 1
                self.clock.sleep(self.backoff.delay(attempt))
                continue
            if status in (401, 403):
                raise FatalError(f"{endpoint}: HTTP {status} (authentication/permission)")
            limiter.on_success()
            return resp
        raise TransientError(
            f"{endpoint}: gave up after {self.max_attempts} attempts ({last_problem})"
        )


class _HttpxPool:
    """``ConnectionPool``'s interface over an httpx transport (tests answer through
    ``httpx.MockTransport``); httpx's transport errors become network errors."""

    def __init__(self, base_url: str, headers: dict[str, str], timeout_s: float, transport):
        import httpx

        self._httpx = httpx
        self.client = httpx.Client(
            base_url=base_url, headers=headers, timeout=timeout_s, transport=transport
        )

    @property
    def base_url(self) -> str:
        return str(self.client.base_url).rstrip("/")

    @base_url.setter
    def base_url(self, value: str) -> None:
        self.client.base_url = value

    def request(self, method: str, path: str, **kw: Any):
        try:
            return self.client.request(method, path, **kw)
        except self._httpx.TransportError as exc:
            raise ConnectionError(type(exc).__name__) from exc

    def close(self) -> None:
        self.client.close()


def set_path(target: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``a.b.c`` inside nested dicts."""
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


_PATHS: dict[str, tuple[str, ...]] = {}


def nest(payload: dict[str, Any], null_policy: str, null_value: Any = None) -> dict[str, Any]:
    """Dotted payload -> nested object. Nulls become ``null_value`` (clear) or are dropped."""
    out: dict[str, Any] = {}
    skip = null_policy == "skip"
    for key, value in payload.items():
        if value is None:
            if skip:
                continue
            value = null_value
        path = _PATHS.get(key)
        if path is None:
            path = _PATHS[key] = tuple(key.split("."))
        if len(path) == 1:
            out[key] = value
            continue
        node = out
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            node = child
        node[path[-1]] = value
    return out


class Destination:
    """Interface. ``deliver`` returns one RowResult per input row (same order not required)
    or raises BatchRejectedError (whole batch refused) / TransientError / FatalError."""

    name = "base"
    config: ClassVar[type[DestinationConfig]] = DestinationConfig
    # the destination identifies a record by its email (not by our key): a record whose
    # address another key now has belongs to that key and is never deleted for this one
    keyed_by_email = False
    # a record this sync holds is written by its record id, so it follows its person's
    # identity change (no retirement of the old address; ``address_holders`` frees the new)
    records_follow_identity = False
    max_batch = 1000
    default_rps = 10.0
    ops: frozenset[str] = frozenset()

    def __init__(self, batch_size: int | None = None) -> None:
        self.batch_size = min(batch_size or self.max_batch, self.max_batch)

    @classmethod
    def shape(cls, batch_size: int | None) -> Destination:
        """An instance good only for batch sizes and quota estimates (no secrets, no I/O)."""
        inst = cls.__new__(cls)
        Destination.__init__(inst, batch_size)
        return inst

    def op_batch_size(self, op: str) -> int:
        return self.batch_size

    @classmethod
    def target(cls, sync: Any, base_url: str | None, outbox_dir: Any) -> str:
        """Where this sync's rows land: the state is kept per target, so the same sync run
        against another account or base URL (the emulator, a sandbox) starts from nothing."""
        cfg = sync.destination
        url = base_url or cfg.base_url or getattr(cls, "default_base_url", "") or ""
        return f"{cls.name}:{url.rstrip('/')}"

    # the record record_sql renders is all ``deliver`` reads of a row that has one: the
    # engine then builds no payload dict for it
    record_is_complete: ClassVar[bool] = False

    @classmethod
    def record_sql(cls, op: str, targets: list[str], null_policy: str) -> str | None:
        """Optional: a DuckDB expression over columns f0..fn that renders this row's JSON
        record for ``op`` (so large batches skip per-row Python dict/JSON work)."""
        return None

    def deliver(self, op: str, rows: list[Row]) -> list[RowResult]:  # pragma: no cover
        raise NotImplementedError

    def resume(self, op: str, job_id: str, rows: list[Row]) -> list[RowResult] | None:
        """The outcome of an asynchronous job started by a run that died (rows in their
        original order), or None when the job is unknown and the rows must be sent again."""
        return None

    def merge(self, pairs: list[Any]) -> list[RowResult]:
        """Merge each ``merges.MergePair``'s previous record into its survivor's through the
        vendor's merge endpoint (destinations with ``MERGE`` in ``ops``): one RowResult per
        pair, keyed by the previous person's key; a pair already merged counts as done."""
        raise NotImplementedError

    def rename(self, pairs: list[Any]) -> list[RowResult] | None:
        """Hand each ``merges.MergePair``'s previous record to its survivor, who has no
        record here yet (Braze renames the external id): one RowResult per pair, keyed by the
        previous person's key. None (the default): not possible here; the previous person
        is then handled as having left."""
        return None

    def address_holders(self, emails: list[str]) -> dict[str, str]:
        """Where ``records_follow_identity``: email -> id of the records that hold these
        addresses now (``merges.py`` merges a record left holding a person's new address)."""
        raise NotImplementedError

    def read_back(self, keys: list[str]) -> dict[str, dict[str, Any]] | None:
        """What the platform holds now, for ``rw-sync reconcile``, by record key (the
        lower-case email where the platform is ``keyed_by_email``, else our primary key) ->
        the synced fields as the platform shows them (the keys of ``Row.payload``) and
        ``__id``, its record id. A list/tag sync returns every member (``keys`` is not
        needed); any other sync the records among ``keys``. None: no read-back here."""
        return None

    def calls_for(self, op: str, n_rows: int) -> int:
        """API calls needed to deliver n rows of this op (for the plan's quota estimate)."""
        size = self.op_batch_size(op)
        return -(-n_rows // size) if n_rows else 0

    def quota_note(self) -> str:
        return ""

    def stats(self) -> dict[str, Any]:
        return {}

    def close(self) -> None:
        pass


class HttpDestination(Destination):
    """A destination speaking HTTP through one retrying, rate-limited transport."""

    default_base_url = ""
    # the vendor's published per-endpoint limits (``ratelimit.EndpointLimit``: method or "*",
    # path regex, windows of (requests, seconds)); requests no entry matches use
    # ``default_rps``; a sync's requests_per_second replaces them all with one limiter
    endpoint_limits: tuple[EndpointLimit, ...] = ()

    def __init__(self, sync: Any, ctx: Any, headers: dict[str, str], secrets: list[str]) -> None:
        cfg = sync.destination
        super().__init__(cfg.batch_size)
        self.sync = sync
        self.cfg = cfg
        self.ctx = ctx
        rps = cfg.requests_per_second or self.default_rps
        self.http = HttpTransport(
            ctx.base_url or cfg.base_url or self.default_base_url,
            headers=headers,
            timeout_s=ctx.timeout_s or cfg.timeout_s,
            max_attempts=ctx.max_attempts or cfg.max_attempts,
            limiter=RateLimiter(rps, burst=max(1.0, rps), clock=ctx.clock),
            clock=ctx.clock,
            backoff=ctx.backoff(),
            secrets=secrets,
            transport=ctx.transport,
            endpoint_limits=() if cfg.requests_per_second else self.endpoint_limits,
        )

    def stats(self) -> dict[str, Any]:
        s = self.http.stats
        return {
            "requests": s.requests,
            "retries": s.retries,
            "throttled": s.throttled,
            "by_endpoint": dict(s.by_endpoint),
            "limiter": self.http.limiter.snapshot(),
        }

    def payload_keys(self) -> list[str]:
        """The destination fields this sync writes (the keys of ``Row.payload``)."""
        keys = list(self.sync.fields)
        h = self.sync.holdout
        if h and h.policy == "attribute" and self.sync.mode != "gdpr_delete":
            keys.append(h.attribute)
        return keys

    def _next_path(self, link: str | None) -> str | None:
        """A paging link (absolute URL) as a path on this transport's base URL."""
        if not link:
            return None
        path = link.split("://", 1)[-1].split("/", 1)[-1] if "://" in link else link
        return path if path.startswith("/") else "/" + path

    def close(self) -> None:
        self.http.close()

    def error_text(self, resp: Response, limit: int = 300) -> str:
        return self.http.scrub(resp.text[:limit])


def struct_sql(tree: dict[str, Any]) -> str:
    """Nested {name: column-expression | subtree} -> DuckDB struct_pack(...) expression."""
    parts = []
    for name, node in tree.items():
        value = struct_sql(node) if isinstance(node, dict) else node
        parts.append('"' + name.replace('"', '""') + '" := ' + value)
    return "struct_pack(" + ", ".join(parts) + ")"


# -- registry: each destination module registers its class (and, through it, its config) --
REGISTRY: dict[str, type[Destination]] = {}


def register(cls: type[Destination]) -> type[Destination]:
    """Class decorator: make ``cls`` the destination for ``cls.config.type``."""
    kind = cls.config.model_fields["type"].annotation.__args__[0]  # Literal["name"]
    if kind in REGISTRY and REGISTRY[kind] is not cls:
        raise ValueError(f"destination type {kind!r} registered twice")
    cls.name = kind
    REGISTRY[kind] = cls
    return cls
