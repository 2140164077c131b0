"""Reverse ETL: diff-based, fault-tolerant syncs from the warehouse to marketing platforms."""
