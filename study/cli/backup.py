"""``peerstudy backup`` and ``peerstudy restore``: one consistent, signed archive of a study."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from study.cli.common import DbOpt, open_db

__all__ = ["backup", "restore"]


def backup(
    out: Annotated[Path, typer.Option("--out", help="Archive to write (.tar.gz).")],
    db: DbOpt = None,
) -> None:
    """Write every table, the configuration, an anchor and a signed manifest with SHA-256
    checksums to one archive, from one consistent snapshot (the dashboard may keep running).
    The anchor is also appended to the anchor log."""
    from study.audit_anchor import anchor_log_path, format_anchor
    from study.audit_key import key_path, load_key
    from study.backup import write_backup

    engine = open_db(db)
    summary = write_backup(engine, out, load_key(key_path(engine)))
    if summary.anchor is not None:
        with anchor_log_path().open("a", encoding="utf-8") as log:
            log.write(format_anchor(summary.anchor) + "\n")
    total = sum(summary.rows.values())
    head = f"audit chain head {summary.anchor.seq}" if summary.anchor else "empty audit chain"
    typer.echo(f"backup written to {out}: {total} rows in {len(summary.rows)} tables, {head}")


def restore(
    archive: Annotated[
        Path, typer.Argument(help="Archive written by `peerstudy backup`.", exists=True, dir_okay=False)
    ],
    db: DbOpt = None,
) -> None:
    """Restore an archive into an EMPTY SQLite or PostgreSQL database, then verify the audit
    chain and the data there. A damaged or changed archive is refused before anything is
    written (exit 2); this is also how a study moves from SQLite to PostgreSQL."""
    from study.audit import verify_chain
    from study.audit_key import key_path, load_key
    from study.backup import read_archive, restore_archive
    from study.db.schema import upgrade

    engine = open_db(db, require_schema=False)
    key = load_key(key_path(engine))
    manifest = read_archive(archive, key)  # refuse a bad archive before touching the database
    upgrade(engine)
    summary = restore_archive(archive, engine, key, manifest)
    report = verify_chain(engine, key)
    where = engine.url.render_as_string(hide_password=True)
    if not report.intact:
        problem = report.problem or "; ".join(d.describe() for d in report.discrepancies[:3])
        typer.echo(f"restored into {where}, but audit verify FAILS: {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"restored {sum(summary.rows.values())} rows into {where}; audit chain intact "
        f"({report.events} events, head {report.head_seq}), data match it"
    )
