"""dbt models, seeds and snapshots as assets; dbt data tests as asset checks."""
