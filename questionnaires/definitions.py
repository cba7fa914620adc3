"""Instrument definitions: one YAML file per questionnaire, validated on load.

A definition declares everything scoring needs (items, response scale, reverse-keyed items,
scales with their items, method, missing-item rule and transform, missing-data codes and
interpretation bands), so that a score is computed the same way in every command, pipeline
and dashboard. The shipped files live in ``questionnaires/instruments/``; the rules follow
the instruments' published scoring instructions (see ``docs/questionnaires.md``).

A definition that already has data is never changed in place: a changed definition gets a new
``version`` (the database keeps every version that scored data, see
:mod:`questionnaires.versions`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import warnings
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from study.config.loader import describe_validation_error
from study.errors import BadInput

__all__ = [
    "Band",
    "DefinitionError",
    "Instrument",
    "Item",
    "LinearTransform",
    "PreferNotToAnswer",
    "LookupTransform",
    "ResponseScale",
    "Scale",
    "canonical_definition",
    "definition_hash",
    "instrument_from_dict",
    "instruments_dir",
    "load_instrument",
    "load_instruments",
    "shipped_instruments",
]

_ID = r"^[a-z][a-z0-9_]{0,31}$"
_ITEM_ID = r"^[A-Za-z0-9]{1,16}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefinitionError(BadInput):
    """An instrument definition is invalid; the message names the file, the key and why."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        super().__init__("\n".join(f"{source}: {key}: {reason}" for key, reason in problems))


class ResponseScale(_Model):
    """Integer response options ``min``..``max`` (both inclusive) with optional labels."""

    min: int
    max: int
    labels: dict[int, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _ordered(self) -> ResponseScale:
        if self.max <= self.min:
            raise ValueError(f"max ({self.max}) must be above min ({self.min})")
        outside = sorted(v for v in self.labels if not self.min <= v <= self.max)
        if outside:
            raise ValueError(f"labels for values {outside} outside {self.min}..{self.max}")
        return self


class Item(_Model):
    """One item: ``id`` (the CSV column is ``<instrument>_<id>``), a short label in our own
    words, and the item wording only where the instrument may be reproduced (or the study
    holds a licence and supplies it). ``response_scale`` overrides the instrument's scale
    (e.g. MANSA's yes/no items)."""

    id: str = Field(pattern=_ITEM_ID)
    label: str = Field(min_length=1)
    wording: str | None = None
    response_scale: ResponseScale | None = None


class LinearTransform(_Model):
    """``score = raw × multiply + add`` (WHO-5: × 4 to a 0–100 percentage)."""

    type: Literal["linear"] = "linear"
    multiply: float = 1.0
    add: float = 0.0

    @field_validator("multiply")
    @classmethod
    def _non_zero(cls, v: float) -> float:
        if v == 0:
            raise ValueError("multiply must not be 0")
        return v


class LookupTransform(_Model):
    """A conversion table from raw sum to score (e.g. a Rasch metric). A prorated raw sum is
    rounded half up to a whole number before the look-up."""

    type: Literal["lookup"] = "lookup"
    table: dict[int, float] = Field(min_length=1)


class Band(_Model):
    """An interpretation band: scores from ``min`` to ``max`` (both inclusive) or ``below``
    (exclusive upper bound, for cut-offs such as "below 10"); any bound may be left out for
    an open end. Bands are tried in the order listed and the first that fits wins, so
    "≤ 28 likely depression" can be listed before "≤ 50 poor well-being"."""

    label: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None
    below: float | None = None

    @model_validator(mode="after")
    def _one_upper_bound(self) -> Band:
        if self.max is not None and self.below is not None:
            raise ValueError("give max or below, not both")
        return self


class Scale(_Model):
    """A scored scale (subscale or total) of an instrument.

    ``items``: item ids, or ``all`` for every item. ``method``: ``sum`` or ``mean`` of the
    (reverse-keyed) item values. ``max_missing``: how many items may be missing for the score
    to be prorated (mean of answered items × number of items for ``sum``; mean of answered
    items for ``mean``); more missing → no score. Defaults to the instrument's ``max_missing``.
    """

    label: str = Field(min_length=1)
    items: Literal["all"] | list[str] = "all"
    method: Literal["sum", "mean"] = "sum"
    max_missing: int | None = Field(default=None, ge=0)
    transform: LinearTransform | LookupTransform | None = Field(default=None, discriminator="type")
    bands: list[Band] = Field(default_factory=list)


class PreferNotToAnswer(_Model):
    """Where a participant completing the instrument alone may answer "prefer not to answer",
    and the missing code that answer is stored as (one of the instrument's ``missing_codes``).

    Only instruments (or items) whose published form or the study's protocol allows it declare
    this; without it a self-completing participant sees only the response scale, because the
    other missing codes (refused, don't know, not asked) are what an interviewer records.
    """

    code: int
    items: Literal["all"] | list[str] = "all"


# ``construct`` is the field's name in the YAML contract; pydantic warns that it shadows the
# deprecated ``BaseModel.construct`` classmethod, which peerstudy never uses.
warnings.filterwarnings("ignore", message='Field name "construct"', category=UserWarning)


class Instrument(_Model):
    """A questionnaire as data (see the module docstring)."""

    id: str = Field(pattern=_ID)
    name: str = Field(min_length=1)
    version: str = Field(min_length=1, max_length=32)
    # The instruments' field is named "construct" (a YAML contract); it shadows pydantic's
    # deprecated BaseModel.construct classmethod, which nothing here calls.
    construct: str = Field(min_length=1)  # type: ignore[assignment]
    reference: str | None = None
    licence: str | None = None
    higher_is: Literal["better", "worse"] = "better"
    response_scale: ResponseScale
    items: list[Item] = Field(min_length=1)
    reverse: list[str] = Field(default_factory=list, description="reverse-keyed item ids")
    max_missing: int = Field(default=0, ge=0, description="default missing-item rule of scales")
    missing_codes: dict[int, str] = Field(default_factory=dict)
    prefer_not_to_answer: PreferNotToAnswer | None = Field(
        default=None, description="the self-completion choice 'prefer not to answer', if allowed"
    )
    scales: dict[str, Scale] = Field(min_length=1)

    @field_validator("items")
    @classmethod
    def _unique_items(cls, items: list[Item]) -> list[Item]:
        seen: set[str] = set()
        for item in items:
            if item.id in seen:
                raise ValueError(f"duplicate item id {item.id!r}")
            seen.add(item.id)
        return items

    @field_validator("scales")
    @classmethod
    def _scale_names(cls, scales: dict[str, Scale]) -> dict[str, Scale]:
        bad = [name for name in scales if not _valid_id(name)]
        if bad:
            raise ValueError(f"scale names must be lower-case identifiers: {bad}")
        if "total" not in scales:
            raise ValueError("every instrument needs a scale called 'total'")
        return scales

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        # Errors are raised with the key path in front so that the loader can name it.
        ids = self.item_ids
        for i, item_id in enumerate(self.reverse):
            if item_id not in ids:
                raise _KeyedError(f"reverse[{i}]", f"{item_id!r} is not an item of {self.id}")
        scale = self.response_scale
        for code in self.missing_codes:
            for item in self.items:
                s = item.response_scale or scale
                if s.min <= code <= s.max:
                    raise _KeyedError(
                        f"missing_codes.{code}",
                        f"code {code} is a valid answer of item {item.id} ({s.min}..{s.max})",
                    )
        pnta = self.prefer_not_to_answer
        if pnta is not None:
            if pnta.code not in self.missing_codes:
                raise _KeyedError("prefer_not_to_answer.code", f"{pnta.code} is not one of the missing_codes")
            for i, item_id in enumerate([] if pnta.items == "all" else pnta.items):
                if item_id not in ids:
                    raise _KeyedError(
                        f"prefer_not_to_answer.items[{i}]", f"{item_id!r} is not an item of {self.id}"
                    )
        for name, sc in self.scales.items():
            members = self.scale_items(name)
            for item_id in members:
                if item_id not in ids:
                    raise _KeyedError(f"scales.{name}.items", f"{item_id!r} is not an item of {self.id}")
            if len(set(members)) != len(members):
                raise _KeyedError(f"scales.{name}.items", "an item is listed twice")
            limit = self.scale_max_missing(name)
            if limit >= len(members):
                raise _KeyedError(
                    f"scales.{name}.max_missing",
                    f"{limit} allows every one of its {len(members)} items to be missing",
                )
            if isinstance(sc.transform, LookupTransform):
                if sc.method != "sum":
                    raise _KeyedError(f"scales.{name}.transform", "a lookup table needs method sum")
                lo, hi = self._raw_range(name)
                wanted = set(range(int(lo), int(hi) + 1))
                missing = sorted(wanted - set(sc.transform.table))
                extra = sorted(set(sc.transform.table) - wanted)
                if missing or extra:
                    raise _KeyedError(
                        f"scales.{name}.transform.table",
                        f"must map every raw score {int(lo)}..{int(hi)}"
                        + (f"; missing {missing}" if missing else "")
                        + (f"; outside the raw range {extra}" if extra else ""),
                    )
            lo, hi = self.score_range(name)
            for b, band in enumerate(sc.bands):
                for bound in (band.min, band.max, band.below):
                    if bound is not None and not lo <= bound <= hi:
                        raise _KeyedError(
                            f"scales.{name}.bands[{b}]",
                            f"bound {bound:g} of band {band.label!r} is outside the score range "
                            f"{lo:g}..{hi:g}",
                        )
                if band.min is not None and band.max is not None and band.min > band.max:
                    raise _KeyedError(f"scales.{name}.bands[{b}]", "min is above max")
        return self

    # --- look-ups -----------------------------------------------------------------------
    @property
    def item_ids(self) -> list[str]:
        return [item.id for item in self.items]

    def item_scale(self, item_id: str) -> ResponseScale:
        """The response scale of one item (its own, else the instrument's)."""
        item = next(i for i in self.items if i.id == item_id)
        return item.response_scale or self.response_scale

    def scale_items(self, name: str) -> list[str]:
        """Item ids of a scale (``all`` expanded)."""
        items = self.scales[name].items
        return list(self.item_ids) if items == "all" else list(items)

    def scale_max_missing(self, name: str) -> int:
        value = self.scales[name].max_missing
        return self.max_missing if value is None else value

    def _raw_range(self, name: str) -> tuple[float, float]:
        sc = self.scales[name]
        scales = [self.item_scale(i) for i in self.scale_items(name)]
        if sc.method == "mean":
            return min(s.min for s in scales), max(s.max for s in scales)
        return float(sum(s.min for s in scales)), float(sum(s.max for s in scales))

    def score_range(self, name: str) -> tuple[float, float]:
        """Lowest and highest possible score of a scale, after its transform."""
        lo, hi = self._raw_range(name)
        transform = self.scales[name].transform
        if isinstance(transform, LinearTransform):
            a, b = lo * transform.multiply + transform.add, hi * transform.multiply + transform.add
            return min(a, b), max(a, b)
        if isinstance(transform, LookupTransform):
            return min(transform.table.values()), max(transform.table.values())
        return float(lo), float(hi)

    def allows_prefer_not_to_answer(self, item_id: str) -> bool:
        """Whether a self-completing participant may answer ``item_id`` "prefer not to answer"."""
        pnta = self.prefer_not_to_answer
        return pnta is not None and (pnta.items == "all" or item_id in pnta.items)

    def column(self, item_id: str) -> str:
        """The CSV column of an item: ``<instrument>_<item>`` (e.g. ``who5_3``)."""
        return f"{self.id}_{item_id}"

    @property
    def columns(self) -> list[str]:
        return [self.column(i) for i in self.item_ids]


class _KeyedError(ValueError):
    """A model-level error that knows which key it is about."""

    def __init__(self, key: str, reason: str):
        self.key = key
        self.reason = reason
        super().__init__(f"@{key}@ {reason}")


def _valid_id(name: str) -> bool:
    return re.match(_ID, name) is not None


def instrument_from_dict(data: object, source: str = "instrument") -> Instrument:
    """Validate a definition held as a mapping (from YAML or from the database).

    Raises
    ------
    DefinitionError
        Naming ``source``, the key (e.g. ``scales.pathways.items``) and the problem.
    """
    if not isinstance(data, dict):
        raise DefinitionError(source, [("(top level)", "must be a mapping")])
    try:
        return Instrument.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(source, [describe_validation_error(e) for e in exc.errors()]) from None


def load_instrument(path: str | Path) -> Instrument:
    """Read and validate one instrument definition file; the file name must be ``<id>.yaml``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DefinitionError(str(path), [("(file)", exc.strerror or str(exc))]) from exc
    except yaml.YAMLError as exc:
        raise DefinitionError(str(path), [("(yaml)", f"not valid YAML: {exc}")]) from None
    instrument = instrument_from_dict(data, source=str(path))
    if instrument.id != path.stem:
        raise DefinitionError(str(path), [("id", f"{instrument.id!r} differs from the file name")])
    return instrument


def instruments_dir() -> Path:
    """Directory of the shipped instrument definitions."""
    return Path(str(resources.files("questionnaires").joinpath("instruments")))


def load_instruments(directory: str | Path | None = None) -> dict[str, Instrument]:
    """Every ``*.yaml`` definition in ``directory`` (default: the shipped ones), by id."""
    directory = Path(directory) if directory is not None else instruments_dir()
    return {p.stem: load_instrument(p) for p in sorted(directory.glob("*.yaml"))}


@functools.lru_cache(maxsize=1)
def shipped_instruments() -> dict[str, Instrument]:
    """The shipped definitions (validated once per process)."""
    return load_instruments()


def canonical_definition(instrument: Instrument) -> dict:
    """The definition as the JSON mapping that is stored with the data and hashed.

    Optional keys added after definitions were first stored (``prefer_not_to_answer``) are
    left out while unset, so a definition that does not use them keeps the hash it had.
    """
    data = instrument.model_dump(mode="json")
    if data.get("prefer_not_to_answer") is None:
        data.pop("prefer_not_to_answer", None)
    return data


def definition_hash(instrument: Instrument) -> str:
    """SHA-256 of the definition's canonical JSON (:func:`canonical_definition`): equal
    definitions, equal hashes."""
    text = json.dumps(canonical_definition(instrument), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
