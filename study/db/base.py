"""The declarative base: shared column types and constraint names for every table."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import ForeignKey, MetaData, String
from sqlalchemy.orm import DeclarativeBase, mapped_column

from study.db.types import UTCDateTime, utcnow

__all__ = ["Base", "Code", "Created", "IntPK", "Name", "PersonFK", "SiteFK", "StudyFK"]

# Alembic names constraints the same way on SQLite and PostgreSQL only when told how.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every peerstudy table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime(), str: String(255)}


IntPK = Annotated[int, mapped_column(primary_key=True)]
StudyFK = Annotated[int, mapped_column(ForeignKey("study.id", ondelete="CASCADE"), index=True)]
SiteFK = Annotated[int, mapped_column(ForeignKey("site.id"), index=True)]
PersonFK = Annotated[int, mapped_column(ForeignKey("person.id", ondelete="CASCADE"), index=True)]
Code = Annotated[str, mapped_column(String(64))]
Name = Annotated[str, mapped_column(String(255))]
Created = Annotated[dt.datetime, mapped_column(default=utcnow)]
