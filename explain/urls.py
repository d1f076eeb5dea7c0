"""Pages that explain recommendations."""
urlpatterns: list = []
