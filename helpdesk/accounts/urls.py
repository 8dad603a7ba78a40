from django.urls import path

from helpdesk.accounts import views

app_name = "accounts"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("availability/", views.set_availability, name="availability"),
    path("preferences/", views.preferences, name="preferences"),
]
