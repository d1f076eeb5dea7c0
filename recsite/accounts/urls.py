"""Account pages: sign up, log in and out, password change and reset."""
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    # Django's own views and templates/registration/* for logout and passwords.
    path("", include("django.contrib.auth.urls")),
]
