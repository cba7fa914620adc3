"""Capture of questionnaire answers: the wide CSV import and single responses (entry form).

The file format is one row per participant × timepoint::

    pseudonym,timepoint,completed_on,who5_1,...,who5_5,qpr15_1,...

Item cells hold the answer, a declared missing code (e.g. ``-9``) or nothing (not answered).
A row whose items of an instrument are all empty is not a response to that instrument. A row
with neither a date nor any answer (an unfilled line of a template) is skipped.

The import is one transaction: every cell is checked first (vectorised over the whole file),
and any problem rejects the file with a list of every bad cell (row, column, value, reason);
nothing is written. Re-importing the same file changes nothing; a changed value of an existing
response is an update, so the audit trail keeps the old value as a correction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype
from sqlalchemy import select
from sqlalchemy.orm import Session

from questionnaires.definitions import Instrument, shipped_instruments
from questionnaires.versions import ensure_version
from study.bulk_write import RowUpdate, insert_columns, update_rows
from study.config import StudyConfig
from study.db.models import Enrolment, Person, QuestionnaireResponse, Study
from study.errors import BadInput, NotFound, RowErrors, RowProblem
from study.imports import cell_problems, normalise_pseudonyms, parse_dates, read_csv_table
from study.imports.bounded import ProblemCap
from study.imports.cells import date_hint
from study.imports.limits import ITEM_LIMIT
from study.imports.reading import CsvStream, empty_frame, no_rows
from study.people import person_by_pseudonym
from study.studies import config_of

__all__ = [
    "ID_COLUMNS",
    "ImportSummary",
    "encode_item_values",
    "import_questionnaire_file",
    "import_questionnaires",
    "read_questionnaire_csv",
    "record_response",
    "study_instruments",
]

#: The leading columns of a questionnaire file (a contract).
ID_COLUMNS = ["pseudonym", "timepoint", "completed_on"]
#: An item cell as a person writes a whole number: digits with an optional '-' (1e0, +2 and
#: 2.0 are not answers).
_WHOLE_NUMBER = re.compile(r"-?[0-9]{1,9}")


@dataclass(frozen=True)
class ImportSummary:
    """What an import did: counts of rows and responses."""

    rows: int
    skipped_rows: int
    responses_created: int
    responses_corrected: int
    values_changed: int
    responses_unchanged: int

    def __str__(self) -> str:
        return (
            f"{self.rows} rows: {self.responses_created} responses created, "
            f"{self.responses_corrected} corrected ({self.values_changed} values changed), "
            f"{self.responses_unchanged} unchanged, {self.skipped_rows} empty rows skipped"
        )


def study_instruments(config: StudyConfig) -> dict[str, Instrument]:
    """The shipped definitions of the instruments a study uses (``instruments`` in its config)."""
    shipped = shipped_instruments()
    unknown = [i for i in config.instruments if i not in shipped]
    if unknown:
        raise BadInput(
            f"the study uses instruments without a definition: {', '.join(unknown)} "
            f"(shipped: {', '.join(sorted(shipped))})"
        )
    for tp in config.timepoints:
        extra = [i for i in tp.instruments if i not in config.instruments]
        if extra:
            raise BadInput(
                f"timepoint {tp.code} lists instruments the study does not declare under "
                f"instruments: {', '.join(extra)}"
            )
    return {i: shipped[i] for i in config.instruments}


def read_questionnaire_csv(path: str | Path) -> pd.DataFrame:
    """Read a questionnaire CSV as text (every cell a string, empty cells ``""``) with the
    file's row numbers in ``line``, by the shared import kit (:mod:`study.imports`)."""
    return read_csv_table(path, require_rows=False).frame


# --- validation ------------------------------------------------------------------------------
class _Problems:
    """Collects bad cells as frames (vectorised) and raises them all at once."""

    def __init__(self, rows: np.ndarray, order: list[str]):
        self.rows = rows
        self.order = {c: i for i, c in enumerate(order)}
        self.frames: list[pd.DataFrame] = []

    def add(self, mask, column, values, reason) -> None:
        """Cells of ``mask`` are bad for ``reason``: one text, one per row, or a function
        giving them (only called when a cell is bad: a message per row costs time)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        if callable(reason):
            reason = reason()
        values = np.asarray(values, dtype=object)
        reasons = np.asarray(reason, dtype=object)
        self.frames.append(
            pd.DataFrame(
                {
                    "row": self.rows[mask],
                    "column": np.asarray(column, dtype=object)[mask] if np.ndim(column) else column,
                    "value": values[mask],
                    "reason": reasons[mask] if reasons.ndim else reason,
                }
            )
        )

    def raise_if_any(self, source: str) -> None:
        if not self.frames:
            return
        df = pd.concat(self.frames, ignore_index=True)
        df["_col"] = df["column"].map(self.order).fillna(-1)
        df = df.sort_values(["row", "_col"], kind="stable")
        raise RowErrors(
            source,
            [
                RowProblem(int(r), str(c), str(v), str(why))
                for r, c, v, why in df[["row", "column", "value", "reason"]].itertuples(index=False)
            ],
        )


class _SeenKeys:
    """Participant × timepoint keys (integers) of a file's rows already checked, with the
    row each first appeared in: a sorted array, so a 1.7-million-row file needs 27 MB."""

    def __init__(self) -> None:
        self.keys = np.empty(0, dtype=np.int64)
        self.rows = np.empty(0, dtype=np.int64)

    def first_rows(self, codes: np.ndarray) -> np.ndarray:
        """The row of each code's first appearance, 0 when new (or the code is -1)."""
        if not len(self.keys):
            return np.zeros(len(codes), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, codes), len(self.keys) - 1)
        hit = (self.keys[at] == codes) & (codes >= 0)
        return np.where(hit, self.rows[at], 0)

    def add(self, codes: np.ndarray, rows: np.ndarray) -> None:
        keys = np.concatenate([self.keys, codes])
        order = np.argsort(keys, kind="stable")
        self.keys, self.rows = keys[order], np.concatenate([self.rows, rows])[order]


def _column_map(
    columns: list[str], instruments: Mapping[str, Instrument], problems: _Problems
) -> dict[str, tuple[str, str]]:
    """Map item columns to (instrument, item); unknown columns are problems of the header."""
    mapping: dict[str, tuple[str, str]] = {}
    for col in columns:
        if col in ID_COLUMNS:
            continue
        instrument_id, _, item = col.rpartition("_")
        inst = instruments.get(instrument_id)
        if inst is None:
            reason = f"unknown instrument column (instruments of this study: {', '.join(instruments)})"
        elif item not in inst.item_ids:
            reason = f"{instrument_id} has no item {item!r} (items {', '.join(inst.item_ids)})"
        else:
            mapping[col] = (instrument_id, item)
            continue
        problems.frames.append(
            pd.DataFrame({"row": [1], "column": [col], "value": [col], "reason": [reason]})
        )
    return mapping


def _participants(session: Session, study: Study) -> pd.DataFrame:
    """The study's people by pseudonym: ``person_id``, ``role``, ``consent_on`` (a date or
    ``None``) and ``consent_at`` (the same as ``datetime64``, ``NaT`` for none)."""
    rows = session.execute(
        select(Person.pseudonym, Person.id, Person.role, Enrolment.consent_on)
        .outerjoin(Enrolment, Enrolment.person_id == Person.id)
        .where(Person.study_id == study.id)
    ).all()
    # plain tuples: pandas probes a Row for fields it does not have, once per person
    people = pd.DataFrame(list(map(tuple, rows)), columns=["pseudonym", "person_id", "role", "consent_on"])
    people["consent_at"] = pd.to_datetime(people["consent_on"], errors="coerce").astype("datetime64[ns]")
    return people.set_index("pseudonym")


def _taken(values: np.ndarray, at: np.ndarray, missing) -> np.ndarray:
    """``values[at]``, with ``missing`` where ``at`` is -1 (a pseudonym not in the study)."""
    out = values[np.maximum(at, 0)] if len(values) else np.full(len(at), missing)
    if len(values):
        out = out.copy()
        out[at < 0] = missing
    return out


def _stripped_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Every cell as stripped Python text (``""`` for a missing one), in object columns.

    Missing cells are found for a whole column at once (C speed); the cells are kept as
    Python strings, not a pandas string array, because the checks below take them out as
    NumPy object arrays again (two conversions of every cell saved).
    """
    columns = {}
    for c in frame.columns:
        values = frame[c].to_numpy(dtype=object)
        if infer_dtype(values, skipna=False) == "string":  # the usual column: all text
            columns[c] = list(map(str.strip, values.tolist()))
            continue
        missing = pd.isna(values)
        columns[c] = [
            "" if gone else v.strip() if type(v) is str else str(v).strip()
            for v, gone in zip(values.tolist(), missing.tolist())
        ]
    return pd.DataFrame(columns, index=frame.index, columns=frame.columns, dtype=object)


def _validate(
    session: Session,
    study: Study,
    frame: pd.DataFrame,
    instruments: Mapping[str, Instrument],
    source: str,
    today: dt.date | None,
    seen: _SeenKeys | None = None,
    people: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, dict[str, tuple[str, str]], dict[str, pd.DataFrame]]:
    """Check every cell; return the kept rows, the column map and numeric item blocks.

    ``seen`` holds the participant × timepoint keys of the file's earlier chunks (a streamed
    import): a row repeating one is a duplicate too. ``people`` is the study's participants
    (:func:`_participants`), loaded once for all chunks."""
    config = config_of(study)
    missing = [c for c in ID_COLUMNS if c not in frame.columns]
    if missing:
        raise RowErrors(
            source,
            [
                RowProblem(
                    1,
                    c,
                    "",
                    f"required column is missing (a questionnaire file starts with {','.join(ID_COLUMNS)})",
                )
                for c in missing
            ],
        )
    duplicated_cols = frame.columns[frame.columns.duplicated()].tolist()
    if duplicated_cols:
        raise RowErrors(
            source, [RowProblem(1, c, c, "this column appears more than once") for c in duplicated_cols]
        )
    if frame.empty:
        raise no_rows(source)
    frame = frame.reset_index(drop=True)
    # spreadsheet rows: the header is row 1 (``line`` when the kit read the file)
    lines = frame.pop("line").astype(int) if "line" in frame else pd.Series(np.arange(len(frame)) + 2)
    frame = _stripped_text(frame)
    rows = lines.to_numpy()
    item_limits = {c: ITEM_LIMIT for c in frame.columns if c not in ID_COLUMNS}
    too_long = cell_problems(frame, lines, extra_limits=item_limits)
    if too_long:
        raise RowErrors(source, sorted(too_long, key=lambda p: (p.row, p.column)))
    frame["pseudonym"] = normalise_pseudonyms(frame["pseudonym"])
    problems = _Problems(rows, list(frame.columns))
    columns = _column_map(list(frame.columns), instruments, problems)

    # All item cells as one matrix: every check below is one array operation over the file.
    item_cols = list(columns)
    raw = frame[item_cols].to_numpy(dtype=object).reshape(len(frame), len(item_cols))
    filled = raw != ""
    any_item = filled.any(axis=1)
    blank_row = (frame["completed_on"] == "").to_numpy() & ~any_item
    keep = ~blank_row

    # People: known pseudonym, a participant, with consent. One hash lookup of every row's
    # pseudonym gives its position among the study's people (-1: unknown), and every fact
    # about the person is then taken by position.
    if people is None:
        people = _participants(session, study)
    pseudonym = frame["pseudonym"]
    at = people.index.get_indexer(pseudonym)
    known = at >= 0
    problems.add(keep & (pseudonym == "").to_numpy(), "pseudonym", pseudonym, "required")
    problems.add(
        keep & ~known & (pseudonym != "").to_numpy(),
        "pseudonym",
        pseudonym,
        f"unknown pseudonym in study {study.code}",
    )
    role = _taken(people["role"].to_numpy(dtype=object), at, None)
    problems.add(
        keep & known & (role != "participant"),
        "pseudonym",
        pseudonym,
        lambda: "not a participant: " + pd.Series(role).astype(str),
    )

    # Timepoints.
    timepoint = frame["timepoint"]
    tp_codes = [t.code for t in config.timepoints]
    tp_known = timepoint.isin(tp_codes).to_numpy()
    problems.add(
        keep & ~tp_known, "timepoint", timepoint, f"unknown timepoint (timepoints: {', '.join(tp_codes)})"
    )

    # Dates: ISO, not in the future, not before consent.
    completed = parse_dates(frame["completed_on"], config.imports.date_format)
    date_ok = completed.notna().to_numpy()
    empty_date = (frame["completed_on"] == "").to_numpy()
    problems.add(keep & empty_date, "completed_on", frame["completed_on"], "required")
    problems.add(
        keep & ~empty_date & ~date_ok,
        "completed_on",
        frame["completed_on"],
        f"not a date ({date_hint(config.imports.date_format)})",
    )
    if today is not None:
        problems.add(
            keep & date_ok & (completed > pd.Timestamp(today)).to_numpy(),
            "completed_on",
            frame["completed_on"],
            f"in the future (today is {today.isoformat()})",
        )
    consent = pd.Series(
        _taken(people["consent_at"].to_numpy(), at, np.datetime64("NaT", "ns")), index=frame.index
    )
    participant = keep & known & (role == "participant")
    problems.add(
        participant & consent.isna().to_numpy(),
        "completed_on",
        frame["completed_on"],
        "the participant has no recorded consent",
    )
    before = participant & date_ok & (completed < consent).fillna(False).to_numpy(dtype=bool)
    problems.add(
        before,
        "completed_on",
        frame["completed_on"],
        lambda: "before the participant's consent (" + consent.dt.strftime("%Y-%m-%d").fillna("") + ")",
    )

    # Duplicates of participant × timepoint within the file.
    key = pseudonym + "\x1f" + timepoint
    kept_keys = key[keep]
    dup = np.zeros(len(frame), dtype=bool)
    dup[keep] = kept_keys.duplicated(keep="first").to_numpy()
    first_row = pd.Series(rows[keep], index=kept_keys.index).groupby(kept_keys).transform("first")
    first = np.zeros(len(frame), dtype=np.int64)
    first[keep] = first_row.to_numpy()
    problems.add(
        dup,
        "pseudonym",
        pseudonym,
        lambda: "duplicate of row " + pd.Series(first).astype(str) + " (same pseudonym and timepoint)",
    )
    if seen is not None:
        # Earlier chunks: keys of known people at known timepoints as exact integers.
        keyed = keep & known & tp_known & ~dup
        person = _taken(people["person_id"].to_numpy(), at, -1)
        codes = np.full(len(frame), -1, dtype=np.int64)
        codes[keyed] = person[keyed].astype(np.int64) * len(tp_codes) + timepoint[keyed].map(
            {c: i for i, c in enumerate(tp_codes)}
        ).to_numpy(dtype=np.int64)
        earlier = seen.first_rows(codes)
        problems.add(
            earlier > 0,
            "pseudonym",
            pseudonym,
            lambda: "duplicate of row " + pd.Series(earlier).astype(str) + " (same pseudonym and timepoint)",
        )
        seen.add(codes[keyed & (earlier == 0)], rows[keyed & (earlier == 0)])

    # Item cells: whole numbers on the item's scale or a declared missing code, written as
    # digits with an optional '-' (1e0, +2 and 2.0 are not answers a person writes).
    # A file holds few distinct cell texts ("1".."5", "-9", ""): each is parsed once.
    codes, distinct = pd.factorize(raw.ravel())
    distinct = np.asarray(distinct, dtype=object)
    strict = np.array([_WHOLE_NUMBER.fullmatch(v) is not None for v in distinct], dtype=bool)[codes]
    strict = strict.reshape(raw.shape)
    numbers = np.array(pd.to_numeric(pd.Series(distinct, dtype=object), errors="coerce"), dtype=float)
    numbers[distinct == ""] = np.nan
    values = numbers[codes].reshape(raw.shape)
    lows = np.empty(len(item_cols))
    highs = np.empty(len(item_cols))
    is_code = np.zeros(raw.shape, dtype=bool)
    outside_reason = np.empty(len(item_cols), dtype=object)
    for j, col in enumerate(item_cols):
        inst = instruments[columns[col][0]]
        scale = inst.item_scale(columns[col][1])
        lows[j], highs[j] = scale.min, scale.max
        code_list = ", ".join(f"{c} {label}" for c, label in inst.missing_codes.items())
        outside_reason[j] = f"outside the scale {scale.min}..{scale.max} and not a missing code" + (
            f" ({code_list})" if code_list else ""
        )
    for instrument_id, inst in instruments.items():
        js = [j for j, col in enumerate(item_cols) if columns[col][0] == instrument_id]
        if js and inst.missing_codes:
            is_code[:, js] = np.isin(values[:, js], list(inst.missing_codes))
    is_num = ~np.isnan(values)
    whole = is_num & (values == np.round(values)) & strict
    valid = whole & (((values >= lows) & (values <= highs)) | is_code)
    check = filled & keep[:, None]
    col_names = np.array(item_cols, dtype=object)
    for mask, reason in (
        (check & ~is_num, "not a number"),
        (check & is_num & ~whole, "not a whole number"),
        (check & whole & ~valid, None),
    ):
        r, c = np.nonzero(mask)
        if len(r):
            problems.frames.append(
                pd.DataFrame(
                    {
                        "row": rows[r],
                        "column": col_names[c],
                        "value": raw[r, c],
                        "reason": outside_reason[c] if reason is None else reason,
                    }
                )
            )

    numeric: dict[str, pd.DataFrame] = {}
    for instrument_id in instruments:
        js = [j for j, col in enumerate(item_cols) if columns[col][0] == instrument_id]
        if not js:
            continue
        numeric[instrument_id] = pd.DataFrame(values[:, js], columns=col_names[js].tolist())
        # Only instruments scheduled at the row's timepoint may be answered.
        answered = filled[:, js].any(axis=1) & keep
        scheduled_at = [t.code for t in config.timepoints if instrument_id in t.instruments]
        unscheduled = answered & tp_known & ~timepoint.isin(scheduled_at).to_numpy()
        if unscheduled.any():
            first = np.array(js)[filled[:, js].argmax(axis=1)]
            problems.add(
                unscheduled,
                col_names[first],
                raw[np.arange(len(frame)), first],
                f"{instrument_id} is not scheduled at timepoint " + timepoint.astype(str),
            )

    problems.raise_if_any(source)
    kept = frame.loc[keep].assign(
        person_id=people["person_id"].to_numpy()[at[keep]].astype("int64"),
        completed=completed[keep].dt.date,
    )
    numeric = {k: v.loc[keep].reset_index(drop=True) for k, v in numeric.items()}
    return kept, columns, numeric


# --- writing ---------------------------------------------------------------------------------
def import_questionnaires(
    session: Session,
    study: Study,
    frame: pd.DataFrame,
    *,
    source: str = "questionnaires",
    today: dt.date | None = None,
    instruments: Mapping[str, Instrument] | None = None,
) -> ImportSummary:
    """Validate and store a wide questionnaire table (see the module docstring).

    Parameters
    ----------
    session
        A session of :func:`study.db.unit_of_work` (its actor and reason go to the audit trail).
    frame
        The file as text: columns ``pseudonym, timepoint, completed_on`` and item columns
        ``<instrument>_<item>``.
    source
        Name of the file, used in error messages.
    today
        Dates after ``today`` are refused; ``None`` skips that check.
    instruments
        Definitions that replace the shipped ones of the same id (e.g. a new version the
        study supplies); the study's other instruments keep their shipped definitions.

    Raises
    ------
    RowErrors
        Listing every bad cell; nothing was written.
    NotAllowed
        When a definition with data was changed without a new version.
    """
    instruments = {**study_instruments(config_of(study)), **(instruments or {})}
    kept, columns, numeric = _validate(session, study, frame, instruments, source, today)
    return _store(session, study, instruments, len(frame), kept, columns, numeric)


def import_questionnaire_file(
    session: Session,
    study: Study,
    path: str | Path,
    *,
    today: dt.date | None = None,
    all_errors: bool = False,
) -> ImportSummary:
    """Validate and store a questionnaire file read in chunks (memory flat for any size).

    Each chunk of rows is checked (duplicates against the earlier chunks too) and, while no
    chunk had a problem, stored; the caller's unit of work commits the whole file or, when
    any row is bad, nothing. After 50 problems the reading stops (``all_errors``: never).

    Raises
    ------
    RowErrors
        Every problem found (at most 50 with ``50 errors shown, N more rows not checked``
        unless ``all_errors``); nothing was written.
    """
    instruments = study_instruments(config_of(study))
    stream = CsvStream(path)
    cap = ProblemCap(all_errors)
    seen = _SeenKeys()
    people = _participants(session, study)
    totals = np.zeros(6, dtype=np.int64)
    chunks = 0
    for chunk in stream.chunks():
        chunks += 1
        try:
            kept, columns, numeric = _validate(
                session, study, chunk, instruments, stream.source, today, seen=seen, people=people
            )
        except RowErrors as exc:
            if not all_errors and all(p.row <= 1 for p in exc.problems):
                raise  # the header is wrong: no row can be read right
            cap.add(exc.problems)
            if cap.full:
                raise cap.stopped(stream.source, chunk, stream) from None
            continue
        if not cap.problems:  # after a bad chunk the file is refused: only check the rest
            totals += np.array(
                astuple(
                    _store(session, study, instruments, len(chunk), kept, columns, numeric, by_person=True)
                )
            )
    if chunks == 0:  # the header's problems, else "no rows"
        _validate(session, study, empty_frame(stream.columns), instruments, stream.source, today)
    if cap.problems:
        raise RowErrors(stream.source, cap.problems)
    return ImportSummary(*(int(t) for t in totals))


def _store(
    session: Session,
    study: Study,
    instruments: Mapping[str, Instrument],
    rows: int,
    kept: pd.DataFrame,
    columns: dict[str, tuple[str, str]],
    numeric: dict[str, pd.DataFrame],
    by_person: bool = False,
) -> ImportSummary:
    """Write validated rows: new responses inserted, changed ones corrected, in audited bulk
    writes. ``by_person`` looks up stored responses of the rows' people only (a chunk of a
    large file) instead of the study's."""
    skipped = rows - len(kept)
    corrected = changed_values = unchanged = 0
    if kept.empty:
        return ImportSummary(rows, skipped, 0, 0, 0, 0)

    # Stored responses as plain rows (no ORM objects: a re-import of 200,000 responses
    # compares text, it does not build objects).
    table = QuestionnaireResponse.__table__
    query = select(
        table.c.id,
        table.c.person_id,
        table.c.timepoint,
        table.c.instrument,
        table.c.completed_on,
        table.c.item_values,
    ).where(
        table.c.study_id == study.id,
        table.c.instrument.in_(list(numeric)),
        table.c.timepoint.in_(kept["timepoint"].unique().tolist()),
    )
    if by_person:
        # The range of the chunk's people (a file sorted by person reads only its own), not
        # an IN list of 20,000 ids to compile; rows of other people are simply not looked up.
        query = query.where(
            table.c.person_id.between(int(kept["person_id"].min()), int(kept["person_id"].max()))
        )
    existing = {(r.person_id, r.timepoint, r.instrument): r for r in session.execute(query)}
    # New responses column by column (insert_columns): no dict per response.
    new: dict[str, list] = {name: [] for name in ("person_id", "timepoint", "instrument", "version")}
    new.update(completed_on=[], item_values=[])
    updates: list[RowUpdate] = []
    person_ids = kept["person_id"].to_numpy()
    timepoints = kept["timepoint"].to_numpy(dtype=object)
    # Equal dates as one object: the writer converts each object once.
    day_codes, days = pd.factorize(kept["completed"])
    dates = np.asarray(days, dtype=object)[day_codes]
    for instrument_id, block in numeric.items():
        inst = instruments[instrument_id]
        cols = [c for c in inst.columns if c in block.columns]
        item_ids = [columns[c][1] for c in cols]
        matrix = block[cols].to_numpy(dtype=float)
        answered = ~np.isnan(matrix).all(axis=1)
        if not answered.any():
            continue
        version = ensure_version(session, study, inst).version
        answered_rows, encoded_rows = _encoded_rows(inst, item_ids, matrix, answered)
        if not existing:  # none of these people has a stored response: all are new
            new["person_id"] += person_ids[answered_rows].tolist()
            new["timepoint"] += timepoints[answered_rows].tolist()
            new["instrument"] += [instrument_id] * len(answered_rows)
            new["version"] += [version] * len(answered_rows)
            new["completed_on"] += dates[answered_rows].tolist()
            new["item_values"] += encoded_rows
            continue
        for k, encoded in zip(answered_rows.tolist(), encoded_rows):
            person_id, timepoint, completed_on = int(person_ids[k]), str(timepoints[k]), dates[k]
            stored = existing.get((person_id, timepoint, instrument_id))
            if stored is None:
                for name, value in (
                    ("person_id", person_id),
                    ("timepoint", timepoint),
                    ("instrument", instrument_id),
                    ("version", version),
                    ("completed_on", completed_on),
                    ("item_values", encoded),
                ):
                    new[name].append(value)
                continue
            if encoded == stored.item_values and stored.completed_on == completed_on:
                unchanged += 1  # the usual re-import: same answers, same date
                continue
            decoded = json.loads(encoded)
            given = {i: decoded[i] for i in item_ids}
            change = _correction(inst, stored, given, completed_on)
            if change is None:
                unchanged += 1
                continue
            changes, n_changed = change
            updates.append(
                RowUpdate(
                    key=stored.id,
                    study_id=study.id,
                    person_id=person_id,
                    old={"item_values": stored.item_values, "completed_on": stored.completed_on},
                    new=changes,
                )
            )
            corrected += 1
            changed_values += n_changed
    created = len(new["item_values"])
    insert_columns(session, QuestionnaireResponse, {"study_id": [study.id] * created, **new})
    update_rows(session, QuestionnaireResponse, updates)
    return ImportSummary(rows, skipped, created, corrected, changed_values, unchanged)


def _encoded_rows(
    inst: Instrument, item_ids: list[str], matrix: np.ndarray, answered: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    """The indices of the answered rows and each one's item values as stored JSON, equal to
    :func:`encode_item_values` of the row; items of the instrument the file has no column
    for are ``null``. Each distinct value is formatted once (a scale has a handful) and the
    cells are poured into one template."""
    position = {i: j for j, i in enumerate(item_ids)}
    template = "{" + ",".join(f"{json.dumps(i)}:%s" for i in inst.item_ids) + "}"
    rows = np.flatnonzero(answered)
    block = matrix[rows]
    codes, distinct = pd.factorize(block.ravel())  # NaN (not answered): code -1
    texts = np.array([str(int(v)) for v in distinct] + ["null"], dtype=object)
    cells = texts[codes].reshape(block.shape)
    null = np.full(len(rows), "null", dtype=object)
    ordered = [cells[:, position[i]] if i in position else null for i in inst.item_ids]
    return rows, [template % values for values in zip(*ordered)]


def _correction(
    inst: Instrument, stored, given: Mapping[str, int | None], completed_on: dt.date
) -> tuple[dict, int] | None:
    """``(new values, number of changed values)`` for an existing response, or ``None`` when
    nothing changes. Items absent from the input keep their stored value; the date counts as
    one value. The JSON is one audited field, whose old value keeps the previous answers."""
    before = json.loads(stored.item_values)
    merged = {**before, **given}
    changed = sum(before.get(i) != v for i, v in given.items())
    new: dict = {}
    if changed:
        new["item_values"] = encode_item_values(inst, merged)
    if stored.completed_on != completed_on:
        new["completed_on"] = completed_on
        changed += 1
    return (new, changed) if changed else None


def encode_item_values(instrument: Instrument, values: Mapping[str, int | None]) -> str:
    """Item values as stored: compact JSON in the definition's item order, ``null`` for an
    item not answered (or not in ``values``)."""
    return json.dumps({i: values.get(i) for i in instrument.item_ids}, separators=(",", ":"))


def record_response(
    session: Session,
    study: Study,
    pseudonym: str,
    timepoint: str,
    instrument: str,
    completed_on: dt.date,
    values: Mapping[str, int | None],
    *,
    today: dt.date | None = None,
) -> QuestionnaireResponse:
    """Record (or correct) one participant's answers to one instrument — the entry form's API.

    ``values`` maps item id → answer, missing code or ``None`` (not answered); items left out
    are not answered. The same checks as the CSV import apply (a problem raises
    :class:`~study.errors.RowErrors` naming the item column); a changed value of an existing
    response is an audited correction. Items left out of ``values`` count as not answered
    (for a correction: all items of the form are given, so an emptied item becomes empty).
    """
    instruments = study_instruments(config_of(study))
    inst = instruments.get(instrument)
    if inst is None:
        raise BadInput(f"unknown instrument {instrument!r}; instruments: {', '.join(instruments)}")
    unknown = sorted(set(values) - set(inst.item_ids))
    if unknown:
        raise BadInput(f"{instrument} has no item(s) {', '.join(unknown)}")
    if all(values.get(i) is None for i in inst.item_ids):
        raise BadInput(f"no item of {instrument} was answered")
    row = {"pseudonym": pseudonym, "timepoint": timepoint, "completed_on": completed_on.isoformat()}
    row.update({inst.column(i): "" if values.get(i) is None else str(values[i]) for i in inst.item_ids})
    import_questionnaires(
        session,
        study,
        pd.DataFrame([row]),
        source="entry form",
        today=today,
        instruments={instrument: inst},
    )
    person = person_by_pseudonym(session, study, pseudonym)
    response = session.scalar(
        select(QuestionnaireResponse).where(
            QuestionnaireResponse.person_id == person.id,
            QuestionnaireResponse.timepoint == timepoint,
            QuestionnaireResponse.instrument == instrument,
        )
    )
    if response is None:  # the import above stored it or raised: a damaged database at most
        raise NotFound(f"{person.pseudonym}: no {instrument} response at {timepoint} after saving it")
    return response
