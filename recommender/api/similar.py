"""API view of "more like this": the items nearest to one item, each with why."""
from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Item
from ..text.selectors import item_similar, link_phrase
from .base import QUERY_INT_MAX, query_int
from .serializers import ItemSerializer, item_dict

MAX_SIMILAR = 50


class LinkSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["genres", "tags", "description", "text"],
                                   help_text="genres or tags both items carry, or similar text.")
    names = serializers.ListField(child=serializers.CharField(), help_text="The shared genres or tags.")
    text = serializers.CharField(help_text='The link in words, e.g. "Same genres: Sci-Fi, Action".')


class SimilarItemSerializer(serializers.Serializer):
    item = ItemSerializer()
    similarity = serializers.FloatField(allow_null=True, help_text="Cosine similarity of the two items' "
                                        "text vectors; null when the item is not embedded yet.")
    why = LinkSerializer(many=True)


class SimilarListSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    results = SimilarItemSerializer(many=True)


class ItemSimilarView(APIView):
    """The items most like one item."""

    permission_classes = [AllowAny]

    @extend_schema(
        parameters=[OpenApiParameter("k", {"type": "integer", "minimum": 1, "maximum": QUERY_INT_MAX},
                                     description="How many: default 10, at least "
                                     f"1; values above {MAX_SIMILAR} are treated as {MAX_SIMILAR}.")],
        responses={200: SimilarListSerializer},
        summary="Items like this one",
        description="Nearest items by the meaning of their text (title, genres, tags, description), each "
        "with what really links the two: shared genres, shared tags, or similar text.",
    )
    def get(self, request: Request, item_id: int) -> Response:
        k = query_int(request, "k", default=10, minimum=1, cap=MAX_SIMILAR)
        if not Item.objects.filter(pk=item_id).exists():
            raise Http404
        similar = item_similar(item_id=item_id, k=k)
        return Response({"item": item_id, "results": [
            {"item": item_dict(s.item), "similarity": s.similarity,
             "why": [{"kind": link.kind, "names": list(link.names), "text": link_phrase(link)} for link in s.links]}
            for s in similar
        ]})
