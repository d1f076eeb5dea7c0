"""Site pages of the recommender."""
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors


def home(request: HttpRequest) -> HttpResponse:
    """Show popular items (personal recommendations arrive with the model)."""
    user = request.user if request.user.is_authenticated else None
    return render(request, "recommender/home.html", {"popular": selectors.item_popular(user=user)})
