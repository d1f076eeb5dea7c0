"""The recommender's tables, one module per concern; Django's app registry and every caller
import them from here."""
from .activity import (
    ControlKind, Event, EventKind, FeedKind, GenreControl, GenreControlKind, Preferences, UserControl,
)
from .catalogue import Genre, Item, Tag
from .serving import Recommendation, ScoringState
from .text import ItemText, TextRun
from .training import ModelVersion, RunStatus, TrainingRun

__all__ = [
    "ControlKind", "Event", "EventKind", "FeedKind", "Genre", "GenreControl", "GenreControlKind", "Item",
    "ItemText", "ModelVersion", "Preferences", "Recommendation", "RunStatus", "ScoringState", "Tag", "TextRun",
    "TrainingRun", "UserControl",
]
