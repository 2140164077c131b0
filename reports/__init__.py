"""Reports for people, rendered from the warehouse marts (plain Python, no Dagster)."""
