"""``peerstudy allocation`` (report, verify, sequence, load-table) and ``peerstudy unblind``.

The report shows blinded arm codes (``A``/``B``) until the study is unblinded: it is read by
researchers, statisticians and the DSMB. ``verify`` and ``sequence`` regenerate the concealed
sequence: only the trial statistician may run them (login and password checked), and each run
is recorded as an audited disclosure.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, open_db, study_read, study_write

__all__ = ["app", "unblind"]

app = typer.Typer(help="Allocation balance, verification and the concealed sequence.", no_args_is_help=True)

UserOpt = Annotated[
    str | None,
    typer.Option("--user", envvar="PEERSTUDY_USER", help="Your statistician login.", show_default=False),
]
PasswordStdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


def _statistician(engine, login: str | None, password_stdin: bool):
    """The authenticated statistician (failed attempts slow down further ones)."""
    from study.errors import NotAllowed
    from study.users import authenticate

    if not login:
        raise NotAllowed("this command is for the trial statistician: give --user LOGIN")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True)
    user = authenticate(engine, login, password, client="cli")
    if user is None:
        raise NotAllowed(f"login failed for {login!r}")
    if user.role != "statistician":
        raise NotAllowed(f"{login} is a {user.role}; only the trial statistician may do this")
    return user


@app.command("report")
def report(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Counts per arm overall, per stratum and per factor level, with the imbalance."""
    from study.blinding import arm_display_map, code_mapping, is_unblinded
    from study.randomisation import allocations_frame
    from study.randomisation.balance import balance_table
    from study.studies import config_of

    with study_read(db, study) as (session, st):
        config = config_of(st)
        allocations = allocations_frame(session, st)
        unblinded = is_unblinded(st)
        codes = code_mapping(session, st)
    table = balance_table(allocations, ["site", *config.randomisation.factors], config.arm_ratios)
    shown = arm_display_map(config, unblinded, codes)
    # Columns in code order: the arms' order in study.yaml would tell which code is which.
    arm_columns = sorted(shown[a] for a in config.arm_codes)
    table = table.rename(columns=shown)
    table = table[
        [*table.columns.drop([*arm_columns, "total", "imbalance"]), *arm_columns, "total", "imbalance"]
    ]
    state = "unblinded" if unblinded else "blinded codes until unblinding"
    typer.echo(
        f"Study {st.code}: {len(allocations)} allocated by {config.randomisation.method} "
        f"(arms: {', '.join(sorted(shown[a] for a in config.arm_codes))}; {state})"
    )
    table["imbalance"] = table["imbalance"].round(2)
    echo_table(table)


@app.command("verify")
def verify(
    user: UserOpt = None, password_stdin: PasswordStdinOpt = False, db: DbOpt = None, study: StudyOpt = None
) -> None:
    """Regenerate every sequence from the secret seed and compare with what was allocated.

    Statistician only; audited. Exit 1 when a sequence has a skipped, duplicated or
    mismatched slot.
    """
    from study.db import unit_of_work
    from study.randomisation import verify_allocations
    from study.studies import get_study

    engine = open_db(db)
    statistician = _statistician(engine, user, password_stdin)
    with unit_of_work(engine, statistician.login, reason="allocation verify") as session:
        st = get_study(session, study)
        result = verify_allocations(session, st, statistician)
    echo_table(result, empty="no allocations yet")
    if not result["ok"].all():
        typer.echo(
            f"allocation sequence does NOT match in {int((~result['ok']).sum())} sequence(s)", err=True
        )
        raise typer.Exit(1)
    typer.echo(f"all {int(result['allocated'].sum())} allocations match the regenerated sequences")


@app.command("sequence")
def sequence(
    stratum: Annotated[str, typer.Argument(help="Stratum key, e.g. CPH|female.")],
    slots: Annotated[int, typer.Option("--slots", min=1, help="Number of slots to show.")] = 20,
    user: UserOpt = None,
    password_stdin: PasswordStdinOpt = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Show the first slots of a stratum's concealed list, future ones included.

    Statistician only; every use is recorded in the audit trail.
    """
    from study.db import unit_of_work
    from study.randomisation import reveal_sequence
    from study.studies import get_study

    engine = open_db(db)
    statistician = _statistician(engine, user, password_stdin)
    with unit_of_work(engine, statistician.login, reason=f"allocation sequence {stratum}") as session:
        st = get_study(session, study)
        result = reveal_sequence(session, st, statistician, stratum, slots)
    echo_table(result)


@app.command("load-table")
def load_table(
    file: Annotated[
        Path | None,
        typer.Argument(help="CSV: site,<factors>,arm; one row per slot [default: randomisation.table_file]."),
    ] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Load a REDCap-style allocation table (once; its slots are concealed)."""
    import pandas as pd

    from study.errors import BadInput
    from study.randomisation import load_allocation_table
    from study.studies import config_of

    with study_write(db, study, reason="allocation load-table") as (session, st, _):
        configured = config_of(st).randomisation.table_file
        path = file or (Path(configured) if configured else None)
        if path is None:
            raise BadInput("give the allocation table file (or set randomisation.table_file)")
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise BadInput(f"{path}: cannot read the file as CSV ({exc})") from None
        counts = load_allocation_table(session, st, table, source=str(path))
    typer.echo(f"{path}: {int(counts['slots'].sum())} slots in {len(counts)} strata loaded")


def unblind(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Unblind the study (analysis phase only, once, with a locked analysis plan; audited):
    arm codes replace A/B, and the analyses run on the real allocation and the locked plan."""
    from study.blinding import unblind as unblind_study
    from study.sap import SapNotLocked

    try:
        with study_write(db, study, reason="unblind") as (session, st, actor):
            unblind_study(session, st, actor)
            typer.echo(f"study {st.code} unblinded by {actor}")
    except SapNotLocked as exc:  # the domain names the action; the command line names the commands
        raise SapNotLocked(f"{exc} (`peerstudy sap show`, then `peerstudy sap lock --reason TEXT`)") from None
