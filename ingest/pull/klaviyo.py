"""`rw-ingest pull klaviyo-events`: e-mail engagement from Klaviyo's Events API into the
raw `email_events` table, incrementally, with dlt.

API facts relied on (Klaviyo REST API, JSON:API, `revision` header):
- `GET /api/metrics` names the metrics ("Received Email", "Opened Email", ...);
- `GET /api/events` with `filter=and(equals(metric_id,"<id>"),greater-or-equal(datetime,<ts>))`,
  `sort=datetime`, `include=profile` and `fields[profile]=email`: events carry
  `attributes.datetime` and `event_properties` (`$message`, `$flow`, `Campaign Name`), the
  profile's email comes in the sideloaded `included` list;
- paging: `links.next` holds the next page's URL with `page[cursor]` (dlt's
  JSONLinkPaginator follows it); rate limits: 429 with `Retry-After` in seconds;
- auth header `Authorization: Klaviyo-API-Key <private key>`.
Events are pulled per e-mail metric with dlt's REST client (the `included` profiles are on
the page, not on the event, so the page is read whole), merged on the event id, and the
cursor (`datetime`) advances only with a completed load; each run starts LOOKBACK_SECONDS
before it, for events that reach Klaviyo late.
"""

from __future__ import annotations

import logging
from pathlib import Path

import dlt
import duckdb
from dlt.sources.helpers.rest_client import RESTClient
from dlt.sources.helpers.rest_client.auth import APIKeyAuth
from dlt.sources.helpers.rest_client.paginators import JSONLinkPaginator

from ingest.pull.http import pull_session
from ingest.pull.raw import Columns, PullResult, run_pull, write_tables

logger = logging.getLogger(__name__)

REVISION = "2024-10-15"
LOOKBACK_SECONDS = 6 * 3600
DATASET = "klaviyo"

# Klaviyo's e-mail metrics -> the contract's email event types
EMAIL_METRICS = {
    "Received Email": "sent",
    "Opened Email": "open",
    "Clicked Email": "click",
    "Bounced Email": "bounce",
    "Unsubscribed": "unsubscribe",
    "Unsubscribed from Email Marketing": "unsubscribe",
    "Marked Email as Spam": "spam_complaint",
}


def klaviyo_client(api_key: str, base_url: str) -> RESTClient:
    return RESTClient(
        base_url=base_url.rstrip("/"),
        headers={"revision": REVISION, "accept": "application/vnd.api+json"},
        auth=APIKeyAuth(name="Authorization", api_key=f"Klaviyo-API-Key {api_key}"),
        paginator=JSONLinkPaginator(next_url_path="links.next"),
        session=pull_session(),
    )


@dlt.source(name="klaviyo")
def klaviyo_source(api_key: str, base_url: str, since: str):
    client = klaviyo_client(api_key, base_url)

    @dlt.resource(name="email_events", primary_key="id", write_disposition="merge")
    def email_events(
        # events can reach Klaviyo late: each run re-reads the last LOOKBACK_SECONDS before
        # the cursor (the merge on the event id keeps that duplicate-free)
        occurred=dlt.sources.incremental(  # noqa: B008 (dlt's documented idiom)
            "datetime", initial_value=since, lag=LOOKBACK_SECONDS
        ),
    ):
        metrics = {
            m["id"]: m["attributes"]["name"]
            for page in client.paginate("/api/metrics", data_selector="data")
            for m in page
        }
        for metric_id, metric_name in sorted(metrics.items()):
            if metric_name not in EMAIL_METRICS:
                continue
            pages = client.paginate(
                "/api/events",
                params={
                    "filter": f'and(equals(metric_id,"{metric_id}"),'
                    f"greater-or-equal(datetime,{occurred.start_value}))",
                    "sort": "datetime",
                    "include": "profile",
                    "fields[profile]": "email",
                },
                data_selector="data",
            )
            for page in pages:
                emails = {
                    p["id"]: p.get("attributes", {}).get("email")
                    for p in page.response.json().get("included", [])
                    if p.get("type") == "profile"
                }
                for event in page:
                    attributes = event.get("attributes", {})
                    properties = attributes.get("event_properties") or {}
                    profile = event["relationships"]["profile"]["data"] or {}
                    yield {
                        "id": event["id"],
                        "datetime": attributes["datetime"],
                        "metric": metric_name,
                        "email": emails.get(profile.get("id")),
                        "message_id": properties.get("$message"),
                        "workflow": properties.get("$flow") or properties.get("Campaign Name"),
                    }

    return email_events


def pull_klaviyo_events(
    api_key: str,
    raw_dir: Path,
    *,
    base_url: str = "https://a.klaviyo.com",
    since: str = "2000-01-01T00:00:00+00:00",
) -> PullResult:
    """Pull new e-mail events, then rewrite the raw email_events table."""
    loaded = load_klaviyo_events(api_key, raw_dir, base_url=base_url, since=since)
    return PullResult(loaded, write_klaviyo_raw(raw_dir))


def _database(raw_dir: Path) -> Path:
    return raw_dir / "_pull" / "klaviyo_api.duckdb"


def load_klaviyo_events(
    api_key: str,
    raw_dir: Path,
    *,
    base_url: str = "https://a.klaviyo.com",
    since: str = "2000-01-01T00:00:00+00:00",
) -> dict[str, int]:
    """Load new e-mail events into the pull's dataset (under `<raw_dir>/_pull/`); returns
    the rows loaded per dlt table."""
    return run_pull(
        "klaviyo_events", _database(raw_dir), DATASET, klaviyo_source(api_key, base_url, since)
    )


def write_klaviyo_raw(raw_dir: Path) -> dict[str, int]:
    """Rewrite the raw email_events table from every event pulled so far."""
    database = _database(raw_dir)
    if not database.exists():
        raise FileNotFoundError(f"{database}: nothing pulled from Klaviyo yet")
    types = ", ".join(f"('{metric}', '{kind}')" for metric, kind in EMAIL_METRICS.items())
    with duckdb.connect(str(database)) as con:
        # dlt adds a column once it saw a value: events without a flow or message have none
        c = Columns(con, DATASET)
        query = f"""
            select e.id as event_id, {c.col("email_events", "email", "e")} as email,
                {c.col("email_events", "workflow", "e")} as workflow,
                {c.col("email_events", "message_id", "e")} as message_id,
                t.event_type, cast(e.datetime as timestamptz) as occurred_at
            from {DATASET}.email_events e
            join (values {types}) t(metric, event_type) on t.metric = e.metric
        """
        return write_tables(con, {"email_events": query}, raw_dir)
