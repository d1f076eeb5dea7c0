"""What the recommender announces to the apps built on it, so it never imports them.

``recommendations_stored``: people's lists were just written (``user_ids``, the people
whose list changed; ``urgent``: True right after a person acted, False for a rescoring
of everyone). The explain app prepares their explanations on it.
"""
from django.dispatch import Signal

recommendations_stored = Signal()
