"""``peerstudy fidelity``: the course manual, the fidelity report and inter-rater reliability."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, StudyOpt, echo_table, option_date, study_read, study_write
from study.errors import BadInput

__all__ = ["app"]

app = typer.Typer(help="Course manual, fidelity report and inter-rater reliability.", no_args_is_help=True)
manual_app = typer.Typer(help="Show, update and lock the course manual.", no_args_is_help=True)
app.add_typer(manual_app, name="manual")


@manual_app.command("show")
def manual_show(
    db: DbOpt = None,
    study: StudyOpt = None,
    version: Annotated[str | None, typer.Option(help="A stored version [default: the current one].")] = None,
    yaml_out: Annotated[bool, typer.Option("--yaml", help="Print the manual's YAML as stored.")] = False,
) -> None:
    """The manual in force (or a stored version): sessions, components, competence items."""
    from study.fidelity.manual import shipped_manual, shipped_manual_path
    from study.fidelity.versions import current_version, manual_of, stored_manual
    from study.studies import config_of

    with study_read(db, study) as (session, st):
        row = stored_manual(session, st, version) if version else current_version(session, st)
        if row is None:
            manual_id = config_of(st).fidelity.manual
            manual = shipped_manual(manual_id)
            status = "not stored yet: showing the shipped file (store it with `fidelity manual update`)"
            text = shipped_manual_path(manual_id).read_text(encoding="utf-8")
        else:
            manual = manual_of(row)
            locked = f", locked {row.locked_at:%Y-%m-%d} by {row.locked_by}" if row.locked_at else ""
            status = f"stored {row.created_at:%Y-%m-%d} by {row.created_by}{locked}"
            text = row.content
    if yaml_out:
        typer.echo(text, nl=False)
        return
    typer.echo(f"{manual.name}\nmanual {manual.id} version {manual.version} ({status})\n")
    frame = manual.components_frame()
    frame["essential"] = frame["essential"].map({True: "essential", False: "optional"})
    minutes = {s.week: s.planned_minutes for s in manual.sessions}
    frame.insert(2, "minutes", frame["week"].map(minutes))
    echo_table(frame.drop(columns="description"))
    scale = manual.competence.scale
    typer.echo(f"\nCompetence items (rated {scale.min}–{scale.max}):")
    for item in manual.competence.items:
        typer.echo(f"  {item.id}: {item.description}")


@manual_app.command("update")
def manual_update(
    file: Annotated[Path, typer.Argument(help="The manual YAML file.", exists=False)],
    note: Annotated[
        str | None, typer.Option("--note", help="What changed (required after the first version).")
    ] = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Store a (changed) manual as a new version; refused once the RCT has started."""
    from study.fidelity.manual import load_manual
    from study.fidelity.versions import store_manual_version

    load_manual(file)  # validate before opening the database
    text = file.read_text(encoding="utf-8")
    with study_write(db, study, reason=note or "manual update") as (session, st, actor):
        row, created = store_manual_version(session, st, text, actor, note=note, source=str(file))
        if not created:
            typer.echo(f"manual {row.manual} version {row.version} is already stored; nothing changed")
        else:
            locked = " and locked (the RCT runs this version)" if row.locked_at else ""
            typer.echo(f"stored manual {row.manual} version {row.version}{locked}")


@manual_app.command("history")
def manual_history_cmd(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Every stored version with its change note and lock."""
    from study.fidelity.versions import manual_history

    with study_read(db, study) as (session, st):
        echo_table(manual_history(session, st), empty="no manual version stored yet")


@manual_app.command("lock")
def manual_lock(db: DbOpt = None, study: StudyOpt = None) -> None:
    """Record the lock of the current version (RCT phase) and give it to every RCT group."""
    from study.fidelity.versions import group_version_problems, lock_manual

    with study_write(db, study, reason="manual lock") as (session, st, actor):
        row = lock_manual(session, st, actor)
        typer.echo(f"manual {row.manual} locked at version {row.version}")
        problems = group_version_problems(session, st)
    if not problems.empty:
        typer.echo("RCT groups not running the locked version:", err=True)
        typer.echo(problems.to_string(index=False), err=True)
        raise typer.Exit(1)


@app.command("report")
def report(
    db: DbOpt = None,
    study: StudyOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Date for 'sessions held' (YYYY-MM-DD) [default: today].")
    ] = None,
    csv_dir: Annotated[
        Path | None, typer.Option("--csv-dir", help="Also write every table as CSV into this folder.")
    ] = None,
) -> None:
    """Fidelity per group, leader pair, site and week, flags, and inter-rater reliability."""
    import pandas as pd

    from study.fidelity.report import fidelity_report
    from study.fidelity.versions import group_version_problems
    from study.studies import config_of

    day = option_date(as_of, "--as-of")
    with study_read(db, study) as (session, st):
        config = config_of(st)
        tables = fidelity_report(session, st, as_of=day)
        versions = group_version_problems(session, st)
    t = config.fidelity.thresholds
    limit = getattr(t, config.fidelity.flag_below)
    typer.echo(
        f"Fidelity of study {st.code}: {len(tables['observations'])} observations; adherence "
        f"high ≥ {t.high:g} %, moderate ≥ {t.moderate:g} %, low below; flagged below {limit:g} %"
    )
    with pd.option_context("display.float_format", "{:.1f}".format, "display.width", 200):
        sections = [
            ("Groups", tables["groups"].drop(columns=["leader_pair"]), "no groups"),
            (
                "Groups below threshold",
                tables["groups"].query("below_threshold")[
                    ["group", "site", "mean_adherence_pct", "last_adherence_pct", "drift_pct_per_week"]
                ],
                "none",
            ),
            (
                "Groups never observed",
                tables["groups"].query("never_observed")[["group", "site", "phase"]],
                "none",
            ),
            ("Leader pairs", tables["leader_pairs"], "no observations"),
            ("Sites", tables["sites"], "no observations"),
            ("Weeks (drift over the course)", tables["weeks"], "no observations"),
            ("Manual sessions never observed at a site (sessions held)", tables["unobserved_weeks"], "none"),
            ("RCT groups not running the locked manual", versions, "none"),
        ]
        for title, frame, empty in sections:
            typer.echo(f"\n{title}:")
            echo_table(frame, empty=f"  ({empty})")
    with pd.option_context("display.float_format", "{:.3f}".format, "display.width", 200):
        typer.echo(
            "\nInter-rater reliability of adherence % on double-coded sessions (read ICC1: observers differ between sessions):"
        )
        echo_table(tables["icc"], empty="  (fewer than two double-coded sessions)")
        typer.echo("\nAgreement per component (double-coded sessions, 0/1/2, quadratic weighted kappa):")
        echo_table(tables["agreement"], empty="  (no double-coded components)")
    if csv_dir is not None:
        from study.safe_csv import to_csv

        csv_dir.mkdir(parents=True, exist_ok=True)
        for name, frame in tables.items():
            to_csv(frame, csv_dir / f"fidelity_{name}.csv")
        typer.echo(f"\nwrote {len(tables)} CSV files to {csv_dir}", err=True)


@app.command("reliability")
def reliability(
    file: Annotated[Path, typer.Argument(help="Long CSV with columns target, rater, score.")],
    ci: Annotated[float, typer.Option(help="Confidence level of the intervals.")] = 0.95,
    omit_missing: Annotated[
        bool, typer.Option("--omit-missing", help="Drop targets not scored by every rater.")
    ] = False,
) -> None:
    """ICC (Shrout & Fleiss forms) for any long CSV target,rater,score; prints CSV."""
    import pandas as pd

    from study.fidelity.reliability import icc

    try:
        data = pd.read_csv(file, skipinitialspace=True)
    except FileNotFoundError:
        raise BadInput(f"{file}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise BadInput(f"{file}: not a readable CSV file ({exc})") from None
    data.columns = [str(c).strip().lower() for c in data.columns]
    try:
        table = icc(data, ci=ci, nan_policy="omit" if omit_missing else "raise")
    except ValueError as exc:
        raise BadInput(f"{file}: {exc}") from None
    from study.safe_csv import to_csv

    typer.echo(to_csv(table[["form", "icc", "ci_low", "ci_high"]], float_format="%.4f"), nl=False)
