"""Reads: the list a person's home page (and the API) shows, and, while there is none yet,
why not: a first training under way (with its progress), a list being computed, a fresh
start after a reset, or no history at all."""
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _

from recsite.accounts.models import User

from .activity import selectors as activity
from .serving import lists
from .training.durations import estimate_text
from .models import Event, FeedKind, Item, ModelVersion, RunStatus, ScoringState, TrainingRun


class ListState:
    """Why the personal list looks as it does."""

    READY = "ready"  # a stored list is shown
    NEWCOMER = "newcomer"  # no history yet
    FRESH_START = "fresh_start"  # reset, and nothing done since
    TRAINING = "training"  # no usable model yet; a run is going
    SCORING = "scoring"  # the list is being computed
    NO_MODEL = "no_model"  # no active model and no run going
    NEEDS_TRAINING = "needs_training"  # scored, but the model knows none of the person's items

    # States that change by themselves (a worker's doing), and how often the page asks
    # again, in seconds: a first training can also start after the page was opened.
    REFRESH_SECONDS = {TRAINING: 3, SCORING: 2, NO_MODEL: 15, NEEDS_TRAINING: 15}
    REFRESHING = frozenset(REFRESH_SECONDS)


@dataclass(frozen=True)
class TrainingProgress:
    """How far the running (or queued) training run is, and how long it may still take."""

    run_id: int
    status: str
    epoch: int
    planned_epochs: float | None  # the run's horizon; None when only max_epochs bounds it
    max_epochs: int
    progress: float  # 0..1
    eta_s: float | None
    started_at: datetime | None

    @property
    def bound(self) -> bool:
        """True when the estimate is an upper bound (no planned horizon)."""
        return self.planned_epochs is None

    @property
    def total_epochs(self) -> int:
        return round(self.planned_epochs) if self.planned_epochs else self.max_epochs

    @property
    def eta_text(self) -> str:
        if self.eta_s is None or self.status != RunStatus.RUNNING or not self.epoch:
            return ""
        return estimate_text(self.eta_s, bound=self.bound)

    @property
    def percent(self) -> int:
        return round(self.progress * 100)

    def as_dict(self) -> dict:
        """Return the figures as plain JSON-ready data (the API's status answer)."""
        return {"run": self.run_id, "status": self.status, "epoch": self.epoch,
                "planned_epochs": self.planned_epochs, "max_epochs": self.max_epochs,
                "progress": round(self.progress, 4), "eta_s": None if self.eta_s is None else round(self.eta_s, 1),
                "eta_is_bound": self.bound, "eta_text": self.eta_text,
                "started_at": self.started_at.isoformat() if self.started_at else None}


def training_progress() -> TrainingProgress | None:
    """Return the progress of the oldest queued or running training run, or None."""
    run = (TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING])
           .order_by("created_at", "id").first())
    if run is None:
        return None
    return TrainingProgress(run_id=run.pk, status=run.status, epoch=run.epoch, planned_epochs=run.horizon,
                            max_epochs=run.max_epochs, progress=run.progress, eta_s=run.eta_s,
                            started_at=run.started_at)


@dataclass(frozen=True)
class HomeFeed:
    """What the home page's main list shows for one person."""

    feed: str  # a FeedKind
    state: str  # a ListState (for the personal feed)
    recommendations: list = field(default_factory=list)  # Recommendation rows (personal feed)
    items: list[Item] = field(default_factory=list)  # the popular or newest feed
    training: TrainingProgress | None = None
    reset_at: datetime | None = None

    @property
    def refreshing(self) -> bool:
        return self.feed == FeedKind.PERSONAL and self.state in ListState.REFRESHING

    @property
    def refresh_seconds(self) -> int:
        return ListState.REFRESH_SECONDS.get(self.state, 0)

    @property
    def status_text(self) -> str:
        """One sentence on the state, for the page's live region and the API."""
        return STATE_TEXT.get(self.state, lambda: "")()


STATE_TEXT = {
    ListState.TRAINING: lambda: _("The model is learning from everyone's ratings; your recommendations appear when it is done."),
    ListState.SCORING: lambda: _("Your list is being computed; it usually takes a few seconds."),
    ListState.NO_MODEL: lambda: _("No model is trained yet; your recommendations appear after the next training."),
    ListState.NEEDS_TRAINING: lambda: _("The model does not know the items you chose yet; they count after the next training."),
    ListState.FRESH_START: lambda: _("You reset your recommendations: rate or like a few items to start again."),
    ListState.NEWCOMER: lambda: _("Rate a few items to get recommendations."),
    ListState.READY: lambda: "",
}


def home_feed(*, user: User, k: int = 12) -> HomeFeed:
    """Return the main list of this person's home page, in the feed they chose."""
    prefs = activity.preferences_for_user(user=user)
    if prefs.feed == FeedKind.POPULAR:
        return HomeFeed(FeedKind.POPULAR, ListState.READY,
                        items=activity.item_popular(user=user, limit=k, include_own=True))
    if prefs.feed == FeedKind.NEWEST:
        return HomeFeed(FeedKind.NEWEST, ListState.READY, items=activity.item_newest(user=user, limit=k))
    recommendations = lists.recommendation_list_for_user(user=user, k=k)
    state = ListState.READY if recommendations else personal_state(user=user, reset_at=prefs.reset_at)
    progress = training_progress() if state == ListState.TRAINING else None
    return HomeFeed(FeedKind.PERSONAL, state, recommendations=recommendations, training=progress,
                    reset_at=prefs.reset_at)


def personal_state(*, user: User, reset_at: datetime | None) -> str:
    """Return why this person has no personal list to show (a ListState other than READY)."""
    events = Event.objects.filter(user=user)
    if not events.exists():
        return ListState.NEWCOMER
    if reset_at is not None and not events.filter(occurred_at__gte=reset_at).exists():
        return ListState.FRESH_START
    going = TrainingRun.objects.filter(status__in=[RunStatus.QUEUED, RunStatus.RUNNING]).exists()
    if not ModelVersion.objects.filter(is_active=True).exists():
        return ListState.TRAINING if going else ListState.NO_MODEL
    state = ScoringState.objects.filter(user=user).first()
    if state is None or state.stale_since is not None or state.scored_at is None:
        return ListState.SCORING
    if going:
        return ListState.TRAINING
    return ListState.NEEDS_TRAINING
