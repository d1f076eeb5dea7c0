"""App configuration for the recommender."""
from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecommenderConfig(AppConfig):
    name = "recommender"
    verbose_name = _("Recommender")

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from .activity.hooks import person_changed
        from .models import Genre, Item
        from .serving import answer_cache
        from .serving.stale_lists import on_person_changed

        # What a person does or chooses marks their list stale, in the same transaction.
        person_changed.connect(on_person_changed, dispatch_uid="serving.person_changed")

        # Titles, years and genres are part of every cached recommendations answer; staff
        # edit them one at a time in the admin, so signals catch every such change.
        for model in (Item, Genre):
            post_save.connect(answer_cache.catalogue_signal, sender=model,
                              dispatch_uid=f"answer-cache-{model.__name__}-save")
            post_delete.connect(answer_cache.catalogue_signal, sender=model,
                                dispatch_uid=f"answer-cache-{model.__name__}-delete")
        m2m_changed.connect(answer_cache.catalogue_signal, sender=Item.genres.through,
                            dispatch_uid="answer-cache-item-genres")
