"""Studies in a database: create one from its configuration, find it, read its configuration."""

from __future__ import annotations

import functools

from sqlalchemy import select
from sqlalchemy.orm import Session

from study.config import StudyConfig, parse_config
from study.db.models import Site, Study, StudyPhase
from study.errors import BadInput, NotAllowed, NotFound

__all__ = ["config_of", "create_study", "get_study", "site_by_code", "sites_by_id"]


def create_study(session: Session, config: StudyConfig, config_yaml: str, *, demo: bool = False) -> Study:
    """Create a study with its sites and planned phases from a validated configuration.

    When a study with the same code exists and was created from the same YAML, it is returned
    unchanged (``peerstudy init`` is idempotent); with a different YAML, ``BadInput``.
    ``demo`` marks the synthetic study of ``peerstudy demo``; a real and a demo study never
    share a code (``NotAllowed``), so demo data cannot be added to a real study.
    """
    existing = session.scalar(select(Study).where(Study.code == config.study.code))
    if existing is not None:
        if existing.is_demo != demo:
            kind = "demo" if existing.is_demo else "real (not a demo)"
            raise NotAllowed(
                f"study {existing.code} in this database is a {kind} study; "
                f"{'demo data never goes into it' if demo else 'it cannot be reused here'}"
            )
        if existing.config_yaml.strip() != config_yaml.strip():
            raise BadInput(
                f"study {config.study.code} already exists with a different configuration; "
                "changing a running study's configuration is not supported by init"
            )
        return existing
    study = Study(code=config.study.code, name=config.study.name, config_yaml=config_yaml, is_demo=demo)
    session.add(study)
    session.flush()
    for s in config.sites:
        session.add(
            Site(study_id=study.id, code=s.code, name=s.name, recruitment_target=s.recruitment_target)
        )
    for p in config.phases:
        session.add(StudyPhase(study_id=study.id, name=p.name, planned_start=p.start, planned_end=p.end))
    session.flush()
    return study


def get_study(session: Session, code: str | None = None) -> Study:
    """The study with ``code``; without a code, the only study in the database."""
    if code is not None:
        study = session.scalar(select(Study).where(Study.code == code))
        if study is None:
            known = ", ".join(session.scalars(select(Study.code))) or "none"
            raise NotFound(f"no study {code!r} in this database (studies: {known})")
        return study
    studies = list(session.scalars(select(Study).order_by(Study.id)))
    if not studies:
        raise NotFound("this database has no study yet: run `peerstudy init` or `peerstudy demo`")
    if len(studies) > 1:
        raise BadInput(
            "this database holds several studies ("
            + ", ".join(s.code for s in studies)
            + "): choose one with --study or PEERSTUDY_STUDY"
        )
    return studies[0]


def config_of(study: Study) -> StudyConfig:
    """The validated configuration a study was created with."""
    return _parse_cached(study.config_yaml, study.code)


@functools.lru_cache(maxsize=16)
def _parse_cached(config_yaml: str, code: str) -> StudyConfig:
    return parse_config(config_yaml, source=f"configuration of study {code}")


def site_by_code(session: Session, study: Study, code: str) -> Site:
    """The study's site with this code, or ``NotFound`` naming the known codes."""
    site = session.scalar(select(Site).where(Site.study_id == study.id, Site.code == code))
    if site is None:
        known = ", ".join(session.scalars(select(Site.code).where(Site.study_id == study.id)))
        raise NotFound(f"unknown site code {code!r}; sites of {study.code}: {known}")
    return site


def sites_by_id(session: Session, study: Study) -> dict[int, Site]:
    """All sites of the study keyed by id."""
    return {s.id: s for s in session.scalars(select(Site).where(Site.study_id == study.id))}
