"""Reverse-ETL: one asset per configured sync, downstream of the dbt model it reads."""
