"""Item text and its vectors: the pretrained encoder, search by meaning, similar items.

Pure modules (no Django): `encoder` (the model), `itemtext` (what an item's text is),
`matching` (the search index), `links` (what really links two items). Django-side:
`store` (vectors in the database), `services` (keeping them current), `selectors` (search
and similar items for pages and the API).
"""
