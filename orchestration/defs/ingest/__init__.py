"""Raw data: the sample-shop generator or an import, written to the raw contract (Parquet)."""
