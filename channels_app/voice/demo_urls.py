from django.urls import path

from channels_app.voice import demo

app_name = "call"
urlpatterns = [
    path("", demo.simulator, name="simulator"),
    path("start/", demo.start, name="start"),
    path("<str:sid>/", demo.state, name="state"),
    path("<str:sid>/press/", demo.press, name="press"),
]
