"""Models: training set (dbt), one asset per model (backtest, fit, promotion), scores."""
