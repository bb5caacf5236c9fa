from typing import Any

from rest_framework.test import APIClient


def new_portfolio(client: APIClient, **fields: Any) -> str:
    response = client.post(
        "/api/v1/portfolios/", {"name": "Main", **fields}, format="json"
    )
    assert response.status_code == 201, response.content
    return f"/api/v1/portfolios/{response.json()['id']}/"


def trade(
    side: str = "buy",
    quantity: str = "1",
    price: str = "100",
    fee: str = "0",
    at: str = "2024-01-01T00:00:00Z",
    symbol: str = "BTC",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "side": side,
        "quantity": quantity,
        "price": price,
        "fee": fee,
        "executed_at": at,
        **extra,
    }


def post_trade(client: APIClient, url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    headers = kwargs.pop("headers", None)
    return client.post(f"{url}trades/", trade(**kwargs), format="json", headers=headers)
