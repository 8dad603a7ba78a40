from django.urls import path

from channels_app.email import unsubscribe

urlpatterns = [path("<str:token>/", unsubscribe.unsubscribe, name="email_unsubscribe")]
