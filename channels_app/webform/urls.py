from django.urls import path

from channels_app.webform import views

app_name = "webform"
urlpatterns = [
    path("", views.contact, name="contact"),
    path("thanks/<str:ref>/", views.thanks, name="thanks"),
]
