"""Outcome questionnaires: instrument definitions, capture, scoring, schedules.

- :mod:`questionnaires.definitions`: instruments as validated YAML (``instruments/*.yaml``)
- :mod:`questionnaires.scoring`: the vectorised scoring engine (wide items in, long scores out)
- :mod:`questionnaires.capture`: the wide CSV import and the single-response API
- :mod:`questionnaires.versions`: instrument versions frozen once they score data
- :mod:`questionnaires.schedule`: what is due when, overdue, complete, outside its window
- :mod:`questionnaires.store`: ``load_scores`` / ``load_items`` for pipelines and dashboards
- :mod:`questionnaires.templates`: empty CSVs for the participants due
"""
