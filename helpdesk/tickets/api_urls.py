from django.urls import path

from helpdesk.tickets import api

urlpatterns = [
    path("tickets/", api.TicketListCreateApi.as_view(), name="tickets"),
    path("tickets/<int:pk>/", api.TicketDetailApi.as_view(), name="ticket"),
    path("tickets/<int:pk>/timeline/", api.TimelineApi.as_view(), name="ticket-timeline"),
    path("tickets/<int:pk>/notes/", api.NoteApi.as_view(), name="ticket-notes"),
    path("tickets/<int:pk>/replies/", api.ReplyApi.as_view(), name="ticket-replies"),
    path("queues/", api.QueueListApi.as_view(), name="queues"),
    path("macros/", api.MacroListApi.as_view(), name="macros"),
    path("search/messages/", api.SearchMessagesApi.as_view(), name="search-messages"),
    path("search/tickets/", api.SearchTicketsApi.as_view(), name="search-tickets"),
    path("search/customers/", api.SearchCustomersApi.as_view(), name="search-customers"),
]
