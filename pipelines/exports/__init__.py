"""Exports of the analysis dataset (CSV, Parquet, Stata, SPSS) with codebook and manifest."""
