"""Tests for reading text vectors back, for the training worker."""
import numpy as np
import pytest

from recommender.models import ItemText
from recommender.text.encoder import EncoderInfo, model_info
from recommender.text.store import TextVectorsError, text_vectors, vector_from_bytes, vector_to_bytes

from .test_services import run_all


def test_bytes_round_trip_and_wrong_length():
    """float32 little-endian both ways; a wrong length is refused."""
    vector = np.arange(4, dtype=np.float32) / 7
    assert np.array_equal(vector_from_bytes(vector_to_bytes(vector), 4), vector)
    with pytest.raises(ValueError, match="3 values, not 4"):
        vector_from_bytes(vector_to_bytes(vector[:3]), 4)


def test_text_vectors_rows_follow_the_ids_given(make_item):
    """Rows come in the order of the ids asked for, with the model's name and version."""
    alien, titanic = make_item("Alien"), make_item("Titanic")
    run_all()
    got = text_vectors([titanic.pk, alien.pk, titanic.pk])
    assert got.item_ids == (titanic.pk, alien.pk, titanic.pk)
    assert got.matrix.shape == (3, 512) and got.matrix.dtype == np.float32
    assert np.array_equal(got.matrix[0], got.matrix[2]) and not np.array_equal(got.matrix[0], got.matrix[1])
    assert np.array_equal(got.matrix[1], vector_from_bytes(ItemText.objects.get(item=alien).vector, 512))
    assert (got.model_name, got.model_version) == (model_info().name, model_info().version)


def test_missing_vectors_are_named(make_item):
    """An item without a vector raises, naming it."""
    alien = make_item("Alien")
    run_all()
    late = make_item("Late arrival")
    with pytest.raises(TextVectorsError, match="1 of 2 items have no text vector") as caught:
        text_vectors([alien.pk, late.pk])
    assert caught.value.item_ids == [late.pk]


def test_vectors_of_another_model_are_refused(make_item):
    """Asking for another model than the stored one raises, naming the stored model."""
    alien = make_item("Alien")
    run_all()
    other = EncoderInfo("some-other-model", "1.0", 384)
    with pytest.raises(TextVectorsError, match=r"another model \(use-multilingual-v3 0.2.1\)"):
        text_vectors([alien.pk], model=other)


def test_stale_vectors_can_be_refused(make_item):
    """A vector waiting for re-embedding is served unless allow_stale=False."""
    alien = make_item("Alien")
    run_all()
    ItemText.objects.update(stale=True)
    assert text_vectors([alien.pk]).matrix.shape == (1, 512)
    with pytest.raises(TextVectorsError, match="wait to be re-embedded"):
        text_vectors([alien.pk], allow_stale=False)
