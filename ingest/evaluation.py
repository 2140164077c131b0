"""Identity-stitching quality against the generator's ground truth.

Pairwise link quality: two records are a predicted link when the warehouse gives them the
same person_id, a true link when the generator made them for the same true person.
precision = correct links / predicted links, recall = correct links / true links,
counted from the (predicted person x true person) contingency table, so it scales to
millions of records without enumerating pairs.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb


@dataclass(frozen=True)
class LinkQuality:
    records: int
    true_links: int
    predicted_links: int
    correct_links: int
    largest_true_persons_in_one_person: int

    @property
    def precision(self) -> float:
        return self.correct_links / self.predicted_links if self.predicted_links else 1.0

    @property
    def recall(self) -> float:
        return self.correct_links / self.true_links if self.true_links else 1.0

    def as_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision, "recall": self.recall}


# Predicted person per record: orders and accounts through the marts/intermediate models,
# devices through the stitched identifiers (devices the truth gives no single owner,
# like the shared tablet, are left out).
_PREDICTED = """
    select 'order' as record_type, order_id as record_id, person_id from core.fct_orders
    union all
    select 'customer', record_id, person_id from intermediate.int_records_persons
    where record_source = 'customer'
    union all
    select 'device', identifier_value, person_id from intermediate.int_identifiers_stitched
    where identifier_type = 'anonymous_id' and person_id is not null
"""


def stitching_quality(duckdb_path: Path, truth_dir: Path) -> LinkQuality:
    """Pairwise precision/recall of same-person links in the warehouse at `duckdb_path`."""
    truth_dir = Path(truth_dir)
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        row = con.execute(
            f"""
            with predicted as ({_PREDICTED}),
            truth as (
                select record_type, cast(record_id as varchar) as record_id, true_person_id
                from read_parquet('{truth_dir / "record_persons.parquet"}')
                where record_type in ('order', 'customer')
                union all
                select 'device', anonymous_id, true_person_id
                from read_parquet('{truth_dir / "anonymous_persons.parquet"}')
                where true_person_id is not null
            ),
            joined as (
                select predicted.person_id, truth.true_person_id
                from predicted
                inner join truth using (record_type, record_id)
            ),
            cells as (
                select person_id, true_person_id, count(*) as n
                from joined group by person_id, true_person_id
            ),
            by_predicted as (
                select sum(n) as n, count(*) as true_persons from cells group by person_id
            ),
            by_truth as (select sum(n) as n from cells group by true_person_id)
            select
                (select sum(n) from cells),
                (select sum(n * (n - 1) / 2) from by_truth),
                (select sum(n * (n - 1) / 2) from by_predicted),
                (select sum(n * (n - 1) / 2) from cells),
                (select max(true_persons) from by_predicted)
            """
        ).fetchone()
    return LinkQuality(*(int(v or 0) for v in row))


def junk_identifiers(truth_dir: Path) -> list[str]:
    """The generator's junk identifiers as identity-graph keys ('<type>:<value>')."""
    junk = json.loads((Path(truth_dir) / "junk_identifiers.json").read_text())
    keys = [f"email:{e.strip().lower()}" for e in junk.get("emails", [])]
    keys += [f"anonymous_id:{a}" for a in junk.get("anonymous_ids", [])]
    return keys
