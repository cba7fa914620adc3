"""Run the generated checks with Great Expectations 1.x (imported here, lazily)."""

from __future__ import annotations

import pandas as pd

from pipelines.quality.suites import Check

__all__ = ["QUALITY_COLUMNS", "run_checks"]

#: Columns of :func:`run_checks`.
QUALITY_COLUMNS = [
    "table",
    "check",
    "expectation",
    "severity",
    "success",
    "rows",
    "failing_rows",
    "examples",
]


def _examples(result, limit: int) -> str:
    found: list[str] = []
    for row in result.result.get("unexpected_index_list") or []:
        pseudonym = row.get("pseudonym") if isinstance(row, dict) else None
        if pseudonym is not None and str(pseudonym) not in found:
            found.append(str(pseudonym))
        if len(found) >= limit:
            break
    return ", ".join(found)


def run_checks(tables: dict[str, pd.DataFrame], checks: list[Check], examples: int = 5) -> pd.DataFrame:
    """Validate each table against its checks in an ephemeral GX context.

    Returns
    -------
    pandas.DataFrame
        One row per check: ``table``, ``check`` (description), ``expectation`` (GX type),
        ``severity`` (error or warning), ``success``, ``rows`` (rows in the table), ``failing_rows``, ``examples`` (up to
        ``examples`` pseudonyms of failing rows). A table without rows passes its checks
        (nothing to contradict them); a check whose column is absent fails with
        ``failing_rows`` = rows.
    """
    import logging

    import great_expectations as gx
    import great_expectations.expectations as gxe

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:  # progress bars are cosmetic; older/newer GX may lack the setting
        pass
    source = context.data_sources.add_pandas("peerstudy")
    rows: list[dict] = []
    for table, frame in tables.items():
        table_checks = [c for c in checks if c.table == table]
        if not table_checks:
            continue
        if frame.empty:
            rows += [
                {
                    "table": table,
                    "check": c.description,
                    "expectation": c.expectation,
                    "severity": c.severity,
                    "success": True,
                    "rows": 0,
                    "failing_rows": 0,
                    "examples": "",
                }
                for c in table_checks
            ]
            continue
        runnable = []
        for c in table_checks:
            columns = [c.kwargs[k] for k in ("column", "column_A", "column_B") if k in c.kwargs]
            columns += c.kwargs.get("column_list", [])
            missing = [col for col in columns if col not in frame.columns]
            if missing:
                rows.append(
                    {
                        "table": table,
                        "check": c.description,
                        "expectation": c.expectation,
                        "severity": c.severity,
                        "success": False,
                        "rows": len(frame),
                        "failing_rows": len(frame),
                        "examples": f"missing column(s): {', '.join(missing)}",
                    }
                )
            else:
                runnable.append(c)
        suite = context.suites.add(gx.ExpectationSuite(name=f"peerstudy.{table}"))
        for c in runnable:
            suite.add_expectation(
                getattr(gxe, c.expectation)(**c.kwargs, meta={"description": c.description})
            )
        batch = source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=f"peerstudy.{table}", data=batch, suite=suite)
        )
        id_columns = ["pseudonym"] if "pseudonym" in frame.columns else []
        outcome = definition.run(
            batch_parameters={"dataframe": frame.reset_index(drop=True)},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": id_columns},
        )
        # A suite run's result always carries its expectation's configuration (GX types it
        # Optional); one without would not be ours, and a check missing here fails loudly below.
        by_description = {
            r.expectation_config.meta.get("description"): r
            for r in outcome.results
            if r.expectation_config is not None
        }
        for c in runnable:
            r = by_description[c.description]
            failing = r.result.get("unexpected_count")
            if failing is None:  # table-level expectation or an exception inside GX
                failing = 0 if r.success else len(frame)
            rows.append(
                {
                    "table": table,
                    "check": c.description,
                    "expectation": c.expectation,
                    "severity": c.severity,
                    "success": bool(r.success),
                    "rows": len(frame),
                    "failing_rows": int(failing),
                    "examples": _examples(r, examples),
                }
            )
    return pd.DataFrame(rows, columns=QUALITY_COLUMNS)
