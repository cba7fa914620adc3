"""The tables a cached dashboard query declares (``dashboards.queries.dependencies``) are all
the tables it reads: its cache is kept until one of them changes, so a table it reads but
does not declare would leave a page showing old data after a save."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from dashboards.queries import QUERIES
from dashboards.queries.dependencies import QUERY_TABLES
from study.db import read_session
from study.db.models import CourseGroup, GroupSession, Person, Site
from tests.test_dashboard_access import viewer_of

_TABLE = re.compile(r'\b(?:FROM|JOIN)\s+"?([a-z_]+)"?', re.IGNORECASE)


def _a_session_and_person_of(engine, site: str) -> tuple[str, int, str]:
    with read_session(engine) as s:
        group, week = s.execute(
            select(CourseGroup.code, GroupSession.week)
            .join(GroupSession, GroupSession.group_id == CourseGroup.id)
            .join(Site, Site.id == CourseGroup.site_id)
            .where(Site.code == site, CourseGroup.phase == "rct")
            .order_by(CourseGroup.code, GroupSession.week)
        ).first()
        person = s.scalar(
            select(Person.pseudonym)
            .join(Site, Site.id == Person.site_id)
            .where(Site.code == site, Person.role == "participant")
            .order_by(Person.pseudonym)
        )
    return group, week, person


def _tables_read(engine, run) -> set[str]:
    seen: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return {name.lower() for statement in seen for name in _TABLE.findall(statement)}


@pytest.mark.parametrize("name", sorted(QUERY_TABLES))
def test_a_cached_query_reads_only_the_tables_it_declares(demo_engine, name):
    group, week, person = _a_session_and_person_of(demo_engine, "CPH")
    coordinator = viewer_of(demo_engine, "cph.coordinator")
    args = {
        "sessions": (group,),
        "session_grid": (group, week),
        "participant_schedule": (person,),
        "fidelity_groups": ("rct",),
    }.get(name, ())
    tables = _tables_read(demo_engine, lambda: QUERIES[name](demo_engine, coordinator, *args))
    assert tables, f"{name} read nothing: the capture missed its statements"
    assert tables <= QUERY_TABLES[name], f"{name} reads {sorted(tables - QUERY_TABLES[name])} undeclared"
