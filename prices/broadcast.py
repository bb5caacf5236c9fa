"""Publishing live prices to WebSocket clients: group names, payloads, one send helper.

The sync pipeline calls `publish_price` for every new latest price; consumers join
`price_group(symbol)`. The real-time issue may change how the message travels (fan-out
per process) but keeps these names.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from prices.latest import LatestPrice


def price_group(symbol: str) -> str:
    return f"prices.{symbol.upper()}"


def publish_price(price: LatestPrice) -> None:
    """Sends one price to every subscriber of its symbol, on every web process."""
    layer = get_channel_layer()
    if layer is None:
        return
    async_to_sync(layer.group_send)(
        price_group(price["symbol"]), {"type": "price.update", "price": price}
    )
