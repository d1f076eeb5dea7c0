"""Template helpers that turn values into words."""
from datetime import timedelta

from django.utils import timezone, translation

from recommender.templatetags.site_extras import ago


def test_a_list_computed_within_the_minute_was_updated_just_now():
    """Not "0 minutes ago": within a minute it is "just now", then Django's natural time."""
    now = timezone.now()
    assert ago(now) == "just now"
    assert ago(now - timedelta(seconds=59)) == "just now"
    assert ago(now - timedelta(minutes=3, seconds=5)) == "3\xa0minutes ago"
    assert ago(None) == ""
    with translation.override("zh-hans"):
        assert ago(now) == "刚刚"
        assert ago(now - timedelta(minutes=3, seconds=5)) == "3分钟之前"
