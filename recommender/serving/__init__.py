"""Serving: scoring people with the active version (scoring: torch), whose lists are stale,
the cached API answers, and the "recommendations stored" hook the explanations follow."""
