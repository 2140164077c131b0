"""Dagster definitions, one package per area of the platform (each returns a `dg.Definitions`)."""
