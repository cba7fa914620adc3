"""The trial analysis: one module per family of models (pingouin-style functions).

Every function takes a DataFrame plus column names and returns a tidy DataFrame with fixed,
documented columns; :mod:`pipelines.analysis.trial` runs them for every outcome and timepoint
of a study and collects ``results.csv``.
"""
