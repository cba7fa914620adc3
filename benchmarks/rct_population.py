"""A study in its RCT phase with ``n`` eligible, consented participants waiting for
randomisation: the population of the randomisation and command-line benchmarks (a helper,
not a benchmark: it has no ``--quick``)."""

from __future__ import annotations

import datetime as dt

__all__ = ["GENDERS", "ON", "SITES", "rct_population"]

SITES = ("CPH", "HEL", "FRE")
GENDERS = ("female", "male")
#: The date the benchmarks randomise on.
ON = dt.date(2025, 9, 1)


def rct_population(url: str, n: int, method: str = "blocks", digits: int = 5) -> list[str]:
    """The reference study in its RCT phase with ``n`` eligible, consented participants
    (pseudonyms ``P`` and ``digits`` digits from 0), at ``url``, migrated here; the audit key
    is ``$PEERSTUDY_AUDIT_KEY``'s. Returns the pseudonyms.

    People are added as ORM objects in two flushes (audited like any other write) rather than
    one by one, to keep the set-up short.
    """
    import yaml

    from study.config import example_config_path, parse_config
    from study.db import make_engine, unit_of_work
    from study.db.models import Enrolment, Person, PersonAttribute, PersonIdentity
    from study.db.schema import upgrade
    from study.phases import start_phase
    from study.studies import create_study, sites_by_id

    engine = make_engine(url)
    upgrade(engine)
    data = yaml.safe_load(example_config_path().read_text(encoding="utf-8"))
    data["randomisation"]["method"] = method
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    utc = dt.UTC
    pseudonyms = [f"P{i:0{digits}d}" for i in range(n)]
    with unit_of_work(engine, "benchmark") as s:
        study = create_study(s, parse_config(text), text)
        start_phase(s, study, "pilot", "benchmark", at=dt.datetime(2025, 1, 6, tzinfo=utc))
        start_phase(s, study, "rct", "benchmark", at=dt.datetime(2025, 8, 1, tzinfo=utc))
        site_ids = {site.code: site.id for site in sites_by_id(s, study).values()}
        people = [
            Person(study_id=study.id, pseudonym=p, role="participant", site_id=site_ids[SITES[i % 3]])
            for i, p in enumerate(pseudonyms)
        ]
        s.add_all(people)
        s.flush()
        municipality = {"CPH": "København", "HEL": "Helsingør", "FRE": "Fredericia"}
        for i, person in enumerate(people):
            s.add(PersonIdentity(person_id=person.id, study_id=study.id, birth_date=dt.date(1985, 1, 1)))
            s.add(
                PersonAttribute(
                    study_id=study.id, person_id=person.id, name="gender", value=GENDERS[(i // 3) % 2]
                )
            )
            s.add(
                Enrolment(
                    study_id=study.id,
                    person_id=person.id,
                    phase="rct",
                    screened_on=dt.date(2025, 8, 10),
                    age_at_screening=40,
                    municipality=municipality[SITES[i % 3]],
                    eligible=True,
                    ineligibility_reasons="[]",
                    consent_on=dt.date(2025, 8, 12),
                )
            )
        s.flush()
    engine.dispose()
    return pseudonyms
