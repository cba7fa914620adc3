"""Data-quality checks (Great Expectations 1.x), generated from the study configuration."""
