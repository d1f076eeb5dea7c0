"""Template tags and filters for the site pages."""
