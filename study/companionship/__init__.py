"""Volunteers and 1:1 companionship: training, profiles, matching, waitlists, relationships
and the dose of companionship each participant received.

Pure modules (no database): :mod:`.matching` (scores and ranks buddies), :mod:`.waitlist`
(schedules follow-up calls), :mod:`.dose` (``dose_from``). The others read and write through
the ORM inside the caller's unit of work.
"""
