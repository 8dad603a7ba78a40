from django.urls import path

from helpdesk.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.sign_in, name="sign_in"),
    path("code/", views.code, name="code"),
    path("home/", views.home, name="home"),
    path("reply/", views.reply, name="reply"),
    path("actions/<slug:slug>/", views.action, name="action"),
    path("uses/<int:pk>/", views.use, name="use"),
    path("sign-out/", views.sign_out, name="sign_out"),
]
