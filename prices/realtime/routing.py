from django.urls import path

from prices.realtime.consumers import (
    AlertStreamConsumer,
    PriceStreamConsumer,
    ReplayConsumer,
)

websocket_urlpatterns = [
    path("ws/prices/", PriceStreamConsumer.as_asgi()),
    path("ws/prices/<str:symbol>/", PriceStreamConsumer.as_asgi()),
    path("ws/replay/", ReplayConsumer.as_asgi()),
    path("ws/alerts/", AlertStreamConsumer.as_asgi()),
]
