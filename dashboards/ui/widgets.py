"""Widgets every page shares: the phase banner, tables with CSV download, error display."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboards.i18n import DEFAULT_LANGUAGE, catalogue, translate
from dashboards.phase_rules import phase_banner
from dashboards.queries.people import IDENTITY_FIELDS
from dashboards.table_format import format_table, numeric_columns
from dashboards.ui.state import LANG, t
from study.errors import NotAllowed, PeerstudyError
from study.safe_csv import to_csv

if TYPE_CHECKING:  # Streamlit's column settings type is not exported under a public name
    from streamlit.elements.lib.column_types import ColumnConfig

__all__ = ["for_people", "numbers_right", "show_demo_banner", "show_error", "show_phase_banner", "table"]


def show_phase_banner(info: dict) -> None:
    """Which phase the study is in and what it allows, on top of every page."""
    banner = phase_banner(info["phase"], info["unblinded"])
    phase = t(f"phase.name.{banner.phase or 'setup'}")
    allowed = ", ".join(t(f"phase.rule.{k}") for k in banner.allowed) or "–"
    refused = ", ".join(t(f"phase.rule.{k}") for k in banner.refused) or "–"
    text = t("phase.banner", study=info["code"], phase=phase, allowed=allowed, refused=refused)
    st.info(text, icon=":material/flag:")


_DEMO_STYLE = (
    "background:#c62828;color:#fff;font-weight:700;padding:0.6rem 1rem;"
    "border-radius:0.5rem;margin-bottom:0.5rem"
)


def show_demo_banner(info: dict) -> None:
    """A red "DEMO DATA" banner on every page of a demo study (synthetic people, public
    passwords), so nobody mistakes it for a real trial."""
    if info.get("demo"):
        # Markdown, not st.error: the banner is not an error of the page (tests and screen
        # readers look for those), and the text is ours (i18n), never user input.
        st.markdown(
            f'<div style="{_DEMO_STYLE}">{html.escape(t("common.demo_banner"))}</div>', unsafe_allow_html=True
        )


def for_people(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` formatted for reading in the session's language
    (:func:`dashboards.table_format.format_table`: headers from ``column.<name>``, codes
    shown to people — timepoints, statuses, roles, phases, reasons — from
    ``code.<column>.<value>``)."""
    language = st.session_state.get(LANG, DEFAULT_LANGUAGE)
    words = catalogue(language)
    # Every header through the catalogue: an unlabelled column shows as ⟦column.name⟧, a gap
    # the catalogue test finds, rather than as English made out of its snake_case name.
    # Arm codes as columns (``A``, ``B``) are codes, shown as they are.
    return format_table(
        df,
        language,
        label=lambda name: translate(f"column.{name}", language) if name.islower() else name,
        yes_no=(t("common.yes"), t("common.no")),
        code=lambda name, value: words.get(f"code.{name}.{value}"),
    )


def numbers_right(raw: pd.DataFrame, shown: pd.DataFrame) -> dict[str, ColumnConfig]:
    """Column settings for ``st.dataframe(shown)`` that right-align the columns holding
    numbers in ``raw`` (:func:`dashboards.table_format.numeric_columns`).

    ``shown`` is ``raw`` formatted for people (:func:`for_people`: the same columns in the
    same order, relabelled): its numbers are text, which Streamlit would align left, so
    that the digits of a column no longer lined up.
    """
    right = st.column_config.TextColumn(alignment="right")
    return {header: right for header, numeric in zip(shown.columns, numeric_columns(raw)) if numeric}


def table(df: pd.DataFrame, name: str, *, empty_key: str = "common.empty", formatted: bool = True) -> None:
    """Show a table and offer it as a CSV download (pseudonymised: identity columns refused).

    Shown for people (:func:`for_people`: labelled headers, codes in words, fixed decimals,
    % , dates and empty cells) unless ``formatted`` is false; the download keeps the raw
    values and column names (a contract for whoever analyses them). Wide tables scroll
    sideways inside the page.
    """
    leaked = sorted(set(df.columns) & set(IDENTITY_FIELDS))
    if leaked:
        raise ValueError(f"identity columns {leaked} must never reach a table or download")
    if df.empty:
        st.info(t(empty_key))
        return
    if formatted:
        shown = for_people(df)
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            key=f"table_{name}",
            column_config=numbers_right(df, shown),
        )
    else:
        st.dataframe(df, hide_index=True, width="stretch", key=f"table_{name}")
    st.download_button(
        t("common.download_csv"),
        # Written when the button is clicked, not on every page run (a tenth of the server's
        # work under the load test, benchmarks/dashboard_load.py); Streamlit calls it then.
        lambda: to_csv(df).encode("utf-8"),
        file_name=f"{name}.csv",
        mime="text/csv",
        key=f"download_{name}",
    )


def show_error(exc: PeerstudyError) -> None:
    """A refused or bad action as one clear message (nothing was written)."""
    prefix = t("common.refused") if isinstance(exc, NotAllowed) else t("common.not_saved")
    st.error(f"{prefix}: {exc}")
