"""The import kit shared by every CSV import (participants, questionnaires, fidelity,
attendance, profiles, contacts).

- :mod:`study.imports.bounded` stops an import after 50 problems ("50 errors shown, N more
  rows not checked") unless ``--all-errors``.
- :mod:`study.imports.reading` streams a file (a chunk of rows at a time) as text cells: UTF-8 only (a clear "save as
  UTF-8" message naming the row otherwise), ``,`` or ``;`` as separator, header-only files
  refused, row numbers as a spreadsheet shows them.
- :mod:`study.imports.cells` parses cells strictly: ISO dates (``DD-MM-YYYY`` only when the
  study's configuration allows it) and plain whole numbers.
- :mod:`study.imports.limits` declares how long a cell may be, per column, in one place, and
  refuses NUL and other control characters.
- :mod:`study.imports.keys` finds rows whose key repeats an earlier row after normalisation
  (week ``3`` and ``03``).
"""

from study.imports.cells import (
    DATE_FORMATS,
    parse_date,
    parse_dates,
    parse_int,
    parse_ints,
)
from study.imports.keys import duplicate_key_problems
from study.imports.limits import CELL_LIMITS, DEFAULT_LIMIT, cell_problems, limit_of
from study.imports.pseudonyms import normalise_pseudonym, normalise_pseudonyms
from study.imports.reading import (
    CsvTable,
    format_notes,
    read_csv_table,
    read_table,
    source_name,
)

__all__ = [
    "CELL_LIMITS",
    "CsvTable",
    "DATE_FORMATS",
    "DEFAULT_LIMIT",
    "cell_problems",
    "duplicate_key_problems",
    "format_notes",
    "limit_of",
    "normalise_pseudonym",
    "normalise_pseudonyms",
    "parse_date",
    "parse_dates",
    "parse_int",
    "parse_ints",
    "read_csv_table",
    "read_table",
    "source_name",
]
