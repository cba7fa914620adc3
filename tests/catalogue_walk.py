"""What a page shows, and which English catalogue texts would betray a half-translated page.

Helpers of ``tests/test_dashboard_catalogue.py`` (and of the report's language test): the
visible text of an ``AppTest`` run (messages, labels, options, metric labels, table headers and
cells, chart titles and axes) and the English catalogue fragments that must never appear in
Danish.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Iterator

import pandas as pd

from dashboards.i18n import catalogue

#: Elements whose text is not ours to translate: the study's YAML, the analysis plan
#: document, typed-in values.
SKIPPED_TYPES = {"code", "text_area", "text_input", "number_input", "date_input"}
#: Widgets whose value is a raw option (what they show is their formatted ``options``).
CHOICE_TYPES = {"selectbox", "radio", "multiselect", "select_slider", "checkbox", "toggle"}
#: Fragments shorter than this (letters) are too short to tell languages apart ("OK", "ITT").
MIN_LETTERS = 4
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
_MARKUP = re.compile(r"\*\*|`|[()\[\]:;,.!?·…\"“”–—/=≥<>+%|]")


def walk(node) -> Iterator:
    """Every element below ``node`` (depth first)."""
    for child in getattr(node, "children", {}).values():
        yield child
        yield from walk(child)


def _chart_texts(spec: object) -> Iterator[str]:
    """Titles, axis and legend titles and tooltip titles of a Vega-Lite spec."""
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key == "title" and isinstance(value, str):
                yield value
            elif key == "title" and isinstance(value, dict) and isinstance(value.get("text"), str):
                yield value["text"]
            elif key in ("datasets", "data"):
                continue  # the data are pseudonymised study values, not text of ours
            else:
                yield from _chart_texts(value)
    elif isinstance(spec, list):
        for value in spec:
            yield from _chart_texts(value)


def chart_specs(at) -> list[dict]:
    """The Vega-Lite specs of the charts on the page."""
    specs = []
    for element in list(walk(at.main)):
        proto = getattr(element, "proto", None)
        spec = getattr(proto, "spec", None)
        if element.type in ("arrow_vega_lite_chart", "vega_lite_chart") and isinstance(spec, str) and spec:
            specs.append(json.loads(spec))
    return specs


def table_headers(at) -> list[str]:
    """The column headers of every table on the page."""
    return [str(c) for f in at.dataframe for c in f.value.columns] + [
        str(c) for f in at.table for c in f.value.columns
    ]


def visible_texts(at) -> list[str]:
    """Every text a person sees on the page: messages, titles, labels, options, help texts,
    metric labels, table headers and cells, chart titles and axis titles."""
    texts: list[str] = []
    for element in list(walk(at.main)) + list(walk(at.sidebar)):
        if element.type in SKIPPED_TYPES:
            texts.append(str(getattr(element, "label", "") or ""))
            continue
        attrs = (
            ("label", "help", "placeholder")
            if element.type in CHOICE_TYPES
            else ("value", "label", "body", "help", "placeholder")
        )
        for attr in attrs:
            try:
                value = getattr(element, attr, None)
            except Exception:  # widgets without a value in this run
                continue
            if isinstance(value, pd.DataFrame):
                texts.extend(str(c) for c in value.columns)
                texts.extend(str(v) for v in value.astype(str).to_numpy().ravel())
            elif isinstance(value, str):
                texts.append(value)
        try:
            options = getattr(element, "options", None)
        except Exception:
            options = None
        if isinstance(options, (list, tuple)):
            texts.extend(str(o) for o in options)
    for spec in chart_specs(at):
        texts.extend(_chart_texts(spec))
    return [piece for text in texts if text for piece in split_markup(text)]


_SVG_TEXT = re.compile(r"<(text|title)[^>]*>(.*?)</\1>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SKIPPED_MARKUP = re.compile(r"<(style|pre|code)[^>]*>.*?</\1>", re.S)


def split_markup(text: str) -> list[str]:
    """The texts a reader sees in ``text``: an SVG's ``<text>`` and ``<title>`` lines one by
    one, the text between the tags of other HTML (without styles, ``<pre>`` and ``<code>``:
    documents and code, not our words), plain text as it is."""
    if "<svg" in text:
        return [html.unescape(m.group(2)).strip() for m in _SVG_TEXT.finditer(text)]
    if "<" in text and ">" in text:
        stripped = _TAG.sub("\n", _SKIPPED_MARKUP.sub("", text))
        return [html.unescape(line).strip() for line in stripped.split("\n") if line.strip()]
    return [text]


def _fragments(text: str) -> Iterable[str]:
    for part in _PLACEHOLDER.split(text):
        part = _MARKUP.sub(" ", part)
        part = " ".join(part.split())
        if sum(ch.isalpha() for ch in part) >= MIN_LETTERS:
            yield part


def english_fragments() -> set[str]:
    """Literal fragments of English catalogue texts that differ from their Danish text and
    occur in no Danish text (so they cannot be Danish too, like "Pilot" or "Pseudonym")."""
    en, da = catalogue("en"), catalogue("da")
    # Compared like the fragments themselves, without punctuation: the dummy-allocation
    # watermark stays English verbatim inside its Danish text ("…: not the trial result (…)").
    danish = " \n ".join(" ".join(_MARKUP.sub(" ", text).split()) for text in da.values())
    found: set[str] = set()
    for key, text in en.items():
        if da.get(key, "").strip().lower() == text.strip().lower():
            continue
        for fragment in _fragments(text):
            if not re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", danish, flags=re.IGNORECASE):
                found.add(fragment)
    return found


def english_shown(texts: Iterable[str], fragments: set[str] | None = None) -> list[str]:
    """The English catalogue fragments found in ``texts``.

    A fragment of several words counts wherever it occurs (as whole words); a single word
    only when it is a whole text (a header, a cell, an option, a label): study content such
    as an instrument's English item wording or a feedback note may well contain "sessions".
    """
    fragments = english_fragments() if fragments is None else fragments
    texts = [" ".join(_MARKUP.sub(" ", t).split()) for t in texts]
    whole = set(texts)  # case-sensitive: a raw code ("present") is not the label ("Present")
    page = "\n".join(texts)
    found = []
    for fragment in fragments:
        if " " in fragment:
            if re.search(rf"(?<!\w){re.escape(fragment)}(?!\w)", page):
                found.append(fragment)
        elif fragment in whole:
            found.append(fragment)
    return sorted(found)


#: English-style decimals next to a percent sign ("80.0 %") and ISO dates ("2025-03-05").
ENGLISH_NUMBERS = re.compile(r"\d\.\d+\s?%|\b\d{4}-\d{2}-\d{2}\b")
#: A snake_case word: a column or code nobody translated ("percent_of_target").
SNAKE = re.compile(r"^[a-z]+(_[a-z0-9]+)+$")
