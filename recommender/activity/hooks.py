"""What activity announces to the layers built on it, so it never imports them.

``person_changed``: a person's events, controls or preferences just changed, sent inside
the transaction that changed them (a receiver's writes commit or roll back with it).
Arguments: ``user``; ``rescore``: their list must be computed again (False when only how
it is shown changed, such as the feed); ``list_void``: the stored list no longer holds (a
reset or its undo: it was computed from what the person cleared). Serving marks the list
stale on it (`recommender.serving.stale_lists.on_person_changed`).
"""
from django.dispatch import Signal

person_changed = Signal()
