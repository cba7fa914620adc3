"""``peerstudy users``: logins for the dashboard."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, open_db, study_write

app = typer.Typer(
    help="Manage users (coordinators, researchers, statisticians, admins).", no_args_is_help=True
)


@app.command("add")
def add(
    login: Annotated[str, typer.Argument(help="Login name (lower case).")],
    role: Annotated[
        str,
        typer.Option(help="coordinator, researcher, statistician, admin or dmc (data monitoring committee)."),
    ],
    site: Annotated[str | None, typer.Option(help="Site code; required for a coordinator.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Add a user; the password is asked for (or read from stdin) and stored as argon2id."""
    from study.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with study_write(db, study, reason=f"users add {login}") as (session, st, _):
        user = add_user(session, login, role, password, study=st, site=site)
        where = f" at {site}" if site else ""
        typer.echo(f"user {user.login} added as {user.role}{where}")


@app.command("list")
def list_users(db: DbOpt = None) -> None:
    """List users with role and site (never password hashes)."""
    import pandas as pd
    from sqlalchemy import select

    from study.db import read_session
    from study.db.models import Site, User

    engine = open_db(db)
    with read_session(engine) as session:
        rows = session.execute(
            select(User.login, User.role, Site.code, User.active)
            .outerjoin(Site, Site.id == User.site_id)
            .order_by(User.login)
        ).all()
    echo_table(pd.DataFrame(rows, columns=["login", "role", "site", "active"]))
