"""Management commands of the recommender app."""
