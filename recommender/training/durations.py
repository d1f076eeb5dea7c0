"""Durations in words, in the active language: "4 min 05 s", "about 12 min", "at most 2 h 5 min"."""
from django.utils.translation import gettext as _


def duration_text(seconds: float) -> str:
    """Return a duration of at least 0 s as hours and minutes, or minutes and seconds under
    an hour, or seconds under a minute."""
    seconds = max(int(round(seconds)), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return _("%(h)d h %(m)d min") % {"h": hours, "m": minutes}
    if minutes:
        return _("%(m)d min %(s)02d s") % {"m": minutes, "s": secs}
    return _("%(s)d s") % {"s": secs}


def estimate_text(seconds: float, *, bound: bool) -> str:
    """Return "about <duration>" for an estimate, or "at most <duration>" for a bound."""
    if bound:
        return _("at most %(duration)s") % {"duration": duration_text(seconds)}
    return _("about %(duration)s") % {"duration": duration_text(seconds)}
