"""``peerstudy match``: profiles, suggestions, matches, the waitlist and follow-up calls."""

from __future__ import annotations

from typing import Annotated

import typer

from study.cli.common import (
    DbOpt,
    OnOpt,
    StudyOpt,
    TodayOpt,
    echo_table,
    option_date,
    reference_date,
    study_read,
    study_write,
)

__all__ = ["app"]

app = typer.Typer(
    help="1:1 companionship: profiles, buddy suggestions, matches, waitlist and calls.",
    no_args_is_help=True,
)


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@app.command("profile")
def profile(
    pseudonym: Annotated[str, typer.Argument(help="A participant (recipient) or peer buddy.")],
    area: Annotated[str, typer.Option(help="Area (neighbourhood) where they meet.")],
    availability: Annotated[str, typer.Option(help="Comma-separated slots, e.g. mon_pm,thu_eve.")],
    wishes: Annotated[str, typer.Option(help="Comma-separated wishes (recipient) or offers (buddy).")] = "",
    home_visits: Annotated[str, typer.Option(help="wanted, ok or no.")] = "ok",
    prefer_gender: Annotated[
        str | None, typer.Option(help="Comma-separated genders preferred in the other person.")
    ] = None,
    age_min: Annotated[int | None, typer.Option(help="Youngest preferred age of the other person.")] = None,
    age_max: Annotated[int | None, typer.Option(help="Oldest preferred age of the other person.")] = None,
    same_diagnosis: Annotated[
        bool, typer.Option("--same-diagnosis", help="Recipient requires a buddy with the same diagnosis.")
    ] = False,
    diagnosis: Annotated[
        str | None, typer.Option(help="Diagnosis code; stored only when it is used for matching.")
    ] = None,
    max_matches: Annotated[int | None, typer.Option(help="Buddies: most active matches at once.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Date they joined the waitlist (new profiles; default today).")
    ] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Create or correct a companionship profile; a new profile joins the waitlist."""
    from study.companionship.profiles import ProfileInput, set_profile
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    data = ProfileInput(
        area=area,
        wishes=_split(wishes),
        availability=_split(availability),
        home_visits=home_visits,
        preferred_genders=_split(prefer_gender),
        preferred_age_min=age_min,
        preferred_age_max=age_max,
        same_diagnosis_required=same_diagnosis,
        diagnosis=diagnosis,
        max_matches=max_matches,
    )
    with study_write(db, study, f"match profile {pseudonym}") as (session, st, _actor):
        person = person_by_pseudonym(session, st, pseudonym)
        row = set_profile(
            session,
            st,
            person,
            data,
            waiting_since=option_date(since, "--since", today_date),
            today=today_date,
        )
        typer.echo(f"{pseudonym} profile saved ({row.side})")


@app.command("suggest")
def suggest(
    pseudonym: Annotated[str, typer.Argument(help="The recipient (participant) to find a buddy for.")],
    top: Annotated[int, typer.Option(help="How many suggestions to show.")] = 5,
    all_: Annotated[bool, typer.Option("--all", help="Also list excluded buddies and why.")] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Rank available buddies for a recipient with a score (0–100) and the reasons."""
    from study.companionship.suggestions import suggest_buddies
    from study.people import person_by_pseudonym

    with study_read(db, study) as (session, st):
        person = person_by_pseudonym(session, st, pseudonym)
        ranked = suggest_buddies(
            session,
            st,
            person,
            reference_date(today),
            top=None if all_ else top,
            include_excluded=all_,
        )
    columns = ["rank", "buddy", "score", "reasons"] + (["eligible", "excluded_because"] if all_ else [])
    echo_table(ranked[columns], empty=f"no eligible buddy for {pseudonym} (see --all)")


@app.command("confirm")
def confirm(
    recipient: Annotated[str, typer.Argument(help="The recipient (participant).")],
    buddy: Annotated[str, typer.Argument(help="The peer buddy.")],
    start: Annotated[str | None, typer.Option(help="Start date YYYY-MM-DD (default: today).")] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Confirm a match; every hard constraint is checked again."""
    from study.companionship.relationships import confirm_match
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    with study_write(db, study, f"match confirm {recipient} {buddy}") as (session, st, actor):
        match = confirm_match(
            session,
            st,
            person_by_pseudonym(session, st, recipient),
            person_by_pseudonym(session, st, buddy),
            option_date(start, "--start", today_date),
            actor,
            today=today_date,
        )
        typer.echo(
            f"{recipient} {buddy} matched from {match.started_on} until {match.planned_end_on} "
            f"(score {match.score:.1f})"
        )


@app.command("waitlist")
def waitlist(
    site: Annotated[str | None, typer.Option(help="Only this site (its coordinator's list).")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue follow-up calls.")] = False,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Who waits for a match: pseudonym, role, since, last call, next call due, overdue."""
    from study.companionship.waiting import overdue_calls, waitlist_table
    from study.companionship.waitlist import WAITLIST_COLUMNS

    with study_read(db, study) as (session, st):
        day = reference_date(today)
        table = (overdue_calls if overdue else waitlist_table)(session, st, day, site)
    table = table[WAITLIST_COLUMNS].assign(
        last_call=table["last_call"].map(lambda d: "-" if d is None else d.isoformat()),
        overdue=table["overdue"].map({True: "yes", False: "no"}),
    )
    echo_table(table, empty="nobody waits" if not overdue else "no overdue calls")


@app.command("join")
def join(
    pseudonym: Annotated[str, typer.Argument(help="A person with a profile who waits again.")],
    since: Annotated[str | None, typer.Option(help="Waiting date YYYY-MM-DD (default: today).")] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Put a person (back) on the waitlist, e.g. after they declined and changed their mind."""
    from study.companionship.profiles import profile_of
    from study.companionship.waiting import join_waitlist
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    with study_write(db, study, f"match join {pseudonym}") as (session, st, _actor):
        person = person_by_pseudonym(session, st, pseudonym)
        profile_of(session, person)
        entry = join_waitlist(
            session, st, person, option_date(since, "--since", today_date), today=today_date
        )
        typer.echo(f"{pseudonym} waits since {entry.since}")


@app.command("call")
def call(
    pseudonym: Annotated[str, typer.Argument(help="A person on the waitlist.")],
    outcome: Annotated[str, typer.Option(help="reached, no_answer, message_left or declined.")],
    note: Annotated[str | None, typer.Option(help="What was said (no identifying data).")] = None,
    on: OnOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Log a follow-up call to a person on the waitlist."""
    from study.companionship.waiting import log_call
    from study.people import person_by_pseudonym

    today_date = reference_date(today)
    with study_write(db, study, f"match call {pseudonym}") as (session, st, actor):
        row = log_call(
            session,
            st,
            person_by_pseudonym(session, st, pseudonym),
            option_date(on, "--on", today_date),
            outcome,
            note,
            actor,
            today=today_date,
        )
        typer.echo(f"{pseudonym} called on {row.called_on}: {row.outcome}")


def _match(session, st, recipient: str, buddy: str | None):
    from study.companionship.relationships import find_match
    from study.people import person_by_pseudonym

    return find_match(
        session,
        person_by_pseudonym(session, st, recipient),
        person_by_pseudonym(session, st, buddy) if buddy else None,
    )


BuddyOpt = Annotated[str | None, typer.Option(help="The buddy, when the recipient had several matches.")]


@app.command("contact")
def contact(
    recipient: Annotated[str, typer.Argument(help="The recipient of the match.")],
    activity: Annotated[str, typer.Option(help="e.g. appointment, walk, talk, phone.")],
    minutes: Annotated[int, typer.Option(help="Length of the contact in minutes.")],
    on: OnOpt = None,
    note: Annotated[str | None, typer.Option()] = None,
    buddy: BuddyOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Log a contact (date, activity, minutes) of a match."""
    from study.companionship.relationships import log_contact

    today_date = reference_date(today)
    with study_write(db, study, f"match contact {recipient}") as (session, st, _actor):
        row = log_contact(
            session,
            st,
            _match(session, st, recipient, buddy),
            option_date(on, "--on", today_date),
            activity,
            minutes,
            note,
            today=today_date,
        )
        typer.echo(f"{recipient} contact on {row.contact_on}: {row.activity}, {row.minutes} min")


@app.command("extend")
def extend(
    recipient: Annotated[str, typer.Argument(help="The recipient of the active match.")],
    until: Annotated[
        str, typer.Option(help="New planned end YYYY-MM-DD (at most max_months after the start).")
    ],
    reason: Annotated[str, typer.Option(help="Why the match is extended.")],
    on: OnOpt = None,
    buddy: BuddyOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Extend an active match (recorded with the date and reason)."""
    from study.companionship.relationships import extend_match

    today_date = reference_date(today)
    with study_write(db, study, f"match extend {recipient}: {reason}") as (session, st, _actor):
        match = extend_match(
            session,
            st,
            _match(session, st, recipient, buddy),
            option_date(until, "--until"),
            option_date(on, "--on", today_date),
            reason,
            today=today_date,
        )
        typer.echo(f"{recipient} match extended until {match.extended_until}")


@app.command("end")
def end(
    recipient: Annotated[str, typer.Argument(help="The recipient of the active match.")],
    reason: Annotated[
        str,
        typer.Option(help="Neutral reason: completed, chemistry, life_circumstances, moved, health, other."),
    ],
    on: OnOpt = None,
    note: Annotated[str | None, typer.Option()] = None,
    recipient_waits: Annotated[
        bool | None,
        typer.Option(
            "--recipient-waits/--recipient-leaves",
            help="Return the recipient to the top of the waitlist [default: for chemistry].",
        ),
    ] = None,
    buddy_waits: Annotated[
        bool, typer.Option("--buddy-waits/--buddy-leaves", help="Put the buddy back on the waitlist.")
    ] = True,
    buddy: BuddyOpt = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """End a match with a neutral reason."""
    from study.companionship.relationships import end_match

    today_date = reference_date(today)
    with study_write(db, study, f"match end {recipient}: {reason}") as (session, st, _actor):
        match = end_match(
            session,
            st,
            _match(session, st, recipient, buddy),
            option_date(on, "--on", today_date),
            reason,
            note,
            recipient_waits=recipient_waits,
            buddy_waits=buddy_waits,
            today=today_date,
        )
        typer.echo(f"{recipient} match ended on {match.ended_on} ({match.end_reason})")


@app.command("list")
def list_matches(
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Only active matches.")] = False,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Matches with their dates, contacts and hours."""
    from study.companionship.relationships import matches_table

    with study_read(db, study) as (session, st):
        table = matches_table(session, st, site, active)
    echo_table(table.astype(object).where(table.notna(), "-"), empty="no matches")


@app.command("dose")
def dose(
    out: Annotated[str | None, typer.Option(help="Write CSV here instead of printing.")] = None,
    today: TodayOpt = None,
    db: DbOpt = None,
    study: StudyOpt = None,
) -> None:
    """Companionship dose per participant: pseudonym, matched, contacts, hours, months."""
    from study.companionship.dose import companionship_dose

    with study_read(db, study) as (session, st):
        table = companionship_dose(session, st, reference_date(today))
    if out:
        from study.safe_csv import to_csv

        to_csv(table, out)
        typer.echo(f"{len(table)} participants written to {out}")
    else:
        echo_table(table)
