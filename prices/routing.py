from django.urls import path

from prices.consumers import PriceStreamConsumer

websocket_urlpatterns = [
    path("ws/prices/", PriceStreamConsumer.as_asgi()),
]
