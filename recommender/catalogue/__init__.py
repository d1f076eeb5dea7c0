"""The catalogue: items and genres as people browse them (selectors), titles in reading
order, genre names in the reader's language. Its text and search live in `recommender.text`.
Importing this package imports no submodule."""
