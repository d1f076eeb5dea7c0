"""The REST API for mobile clients, under /api/v1/."""
