"""The message catalogues are complete and every page speaks one language.

- en and da have the same keys and the same placeholders; no English "site" in Danish texts;
- every key the code asks for (``t("…")``, ``translate("…")``, ``say("…")``) exists;
- a walk over every page of every role in both languages (``AppTest`` on the demo study; the
  data monitoring committee, which the demo has no login for, on a demo study of its own):
  no missing key (``⟦key⟧``), no snake_case table header, and in Danish no English catalogue
  text, no English decimal ("80.0 %") and no ISO date — and the walk does fail when an English
  text is put back.

The walk runs on SQLite only: it tests words, not the data layer (the pages' queries run on
both backends in ``test_dashboard_app.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from streamlit.testing.v1 import AppTest

from dashboards.i18n import catalogue
from dashboards.page_registry import pages_for
from study.db import unit_of_work
from study.demo import build_demo
from study.studies import get_study
from study.users import add_user
from tests.catalogue_walk import (
    ENGLISH_NUMBERS,
    SNAKE,
    english_fragments,
    english_shown,
    table_headers,
    visible_texts,
)
from tests.test_dashboard_access import person_at
from tests.test_dashboard_app import ROLE_LOGINS, open_app  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parent.parent
#: Literal keys in calls of the translating functions; ``say`` is prefixed per module.
_CALL = re.compile(r"""\b(t|translate|say)\(\s*(f?)["']([^"']+)["']""")
_SAY_PREFIX = {"consort.py": "consort.", "html.py": "report.", "sap_section.py": "report."}


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{([a-z_]+)\}", text))


def test_catalogues_have_the_same_keys_and_placeholders():
    en, da = catalogue("en"), catalogue("da")
    assert set(en) == set(da), sorted(set(en) ^ set(da))
    different = {k for k in en if _placeholders(en[k]) != _placeholders(da[k])}
    assert not different, sorted(different)
    # The English word "site" inside Danish sentences (issue 17): Danish says "sted"/"lokalitet".
    assert not [k for k, v in da.items() if re.search(r"\bsite\b", re.sub(r"\{[a-z_]+\}", "", v))]


#: Keys whose Danish text is the English one on purpose (international terms, names, codes).
#: Any other identical pair is an English text left in the Danish catalogue.
IDENTICAL = {
    "common.language",
    "nav.pilot",
    "nav.interim",
    "nav.section.admin",
    "auth.signed_in_as",
    "role.admin",
    "identity.email",
    "pilot.title",
    "people.pseudonym",
    "enrol.pseudonym",
    "enrol.attribute",
    "questionnaire.instrument",
    "feedback.note",
    "column.pseudonym",
    "column.effect_size",
    "column.estimand",
    "column.instrument",
    "column.note",
    "column.status",
    "column.stratum",
    "column.version",
    "column.p_holm",
    "column.moderator",
    "code.timepoint.baseline",
    "code.role.admin",
    "code.phase.pilot",
    "code.estimand.cace",
    "code.method.ancova",
    "code.method.mixed",
    "record.person",
    "consort.arm",
    "forest.title",
    "report.note",
}


def test_danish_texts_are_not_english():
    en, da = catalogue("en"), catalogue("da")
    same = {
        k
        for k, v in en.items()
        if da[k].strip().lower() == v.strip().lower() and sum(c.isalpha() for c in v) >= 4
    }
    assert same <= IDENTICAL, sorted(same - IDENTICAL)


def test_the_watermark_stays_verbatim_in_every_language():
    """Tests and ``DUMMY_ALLOCATION_`` file names rely on the exact English watermark (the
    blinding contract): a translation may only add its own wording beside it."""
    from pipelines.dummy_allocation import DUMMY_WATERMARK, watermark_text

    assert watermark_text("en") == DUMMY_WATERMARK
    for language in ("da",):
        text = watermark_text(language)
        assert text.startswith(f"{DUMMY_WATERMARK} (") and len(text) > len(DUMMY_WATERMARK) + 10


def test_every_key_used_in_code_exists():
    keys = set(catalogue("en"))
    missing = []
    for path in [*ROOT.joinpath("dashboards").rglob("*.py"), *ROOT.joinpath("pipelines").rglob("*.py")]:
        for function, is_f, key in _CALL.findall(path.read_text(encoding="utf-8")):
            if function == "say":
                if path.name not in _SAY_PREFIX:
                    continue
                key = _SAY_PREFIX[path.name] + key
            if is_f or key.endswith("."):  # t(f"role.{r}"), t("identity." + name): a key must start so
                prefix = key.split("{", 1)[0]
                if not any(k.startswith(prefix) for k in keys):
                    missing.append(f"{path.name}: {key}")
            elif "." in key and key not in keys:
                missing.append(f"{path.name}: {key}")
    assert not missing, missing


def _walk(at: AppTest, role: str, pseudonym: str):
    """Every page of ``role`` (the people page with one person opened): (page, AppTest)."""
    for spec in pages_for(role):
        at.switch_page(spec.path).run()
        if spec.path == "views/people.py":
            at.text_input(key="person_pseudonym").input(pseudonym).run()
        yield spec.path, at


#: The walk's data monitoring committee member (the demo study has no dmc login).
DMC_LOGIN = "walk.dmc"


@pytest.fixture(scope="module")
def dmc_engine(db_factory) -> Iterator[Engine]:
    """A small demo study of the walk's own with a dmc login: the dmc-only Interim page
    records every opening, which the shared read-only demo study must not get."""
    engine = db_factory.new_engine()
    build_demo(engine, participants=20, seed=3)
    with unit_of_work(engine, "admin") as s:
        add_user(s, DMC_LOGIN, "dmc", "a long enough password", study=get_study(s))
    yield engine
    engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["en", "da"])
@pytest.mark.parametrize("role", [*ROLE_LOGINS, "dmc"])
def test_every_page_speaks_its_language(open_app, demo_engine, request, role, lang):
    if role == "dmc":
        engine, login = request.getfixturevalue("dmc_engine"), DMC_LOGIN
    else:
        engine, login = demo_engine, ROLE_LOGINS[role]
    fragments = english_fragments()
    pseudonym = person_at(engine, "CPH")
    app = open_app(engine, login, lang=lang)
    problems = []
    for page, at in _walk(app, role, pseudonym):
        assert not at.exception, (page, at.exception)
        texts = visible_texts(at)
        problems += [f"{page}: missing key {t}" for t in texts if "⟦" in t]
        problems += [f"{page}: raw header {h}" for h in table_headers(at) if SNAKE.match(h)]
        if lang == "da":
            problems += [f"{page}: English {f!r}" for f in english_shown(texts, fragments)]
            problems += [
                f"{page}: English number or date {m.group(0)!r}"
                for t in texts
                for m in ENGLISH_NUMBERS.finditer(t)
            ]
    assert not problems, "\n".join(sorted(set(problems)))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_walk_finds_an_english_text_in_danish(open_app, demo_engine, monkeypatch):
    """The check can fail: put one English text back into the Danish catalogue and it is found."""
    fragments = english_fragments()  # from the real catalogues
    english = catalogue("en")["rct.metric.screened"]
    monkeypatch.setitem(catalogue("da"), "rct.metric.screened", english)
    monkeypatch.setitem(catalogue("da"), "column.imbalance", catalogue("en")["column.imbalance"])
    at = open_app(demo_engine, "researcher", lang="da")
    found = english_shown(visible_texts(at), fragments)
    assert english in found and "Imbalance" in found


def test_english_decimals_and_iso_dates_are_caught():
    assert ENGLISH_NUMBERS.search("Under 80.0 % adhærens") and ENGLISH_NUMBERS.search("Uge 1 (2025-10-06)")
    assert not ENGLISH_NUMBERS.search("Under 80,0 % adhærens · Uge 1 (6. okt. 2025)")
