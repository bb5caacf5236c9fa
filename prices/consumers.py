"""WebSocket consumers. The price stream protocol itself lands with the real-time issue."""

from channels.generic.websocket import AsyncJsonWebsocketConsumer


class PriceStreamConsumer(AsyncJsonWebsocketConsumer):
    """Accepts the connection and greets; subscriptions come with the real-time issue."""

    async def connect(self) -> None:
        await self.accept()
        await self.send_json({"type": "hello", "protocol": "marketpulse.prices.v1"})
