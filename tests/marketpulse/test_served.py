"""The service as `make run` serves it: one uvicorn port for HTTP and WebSockets."""

import asyncio
import json

import httpx
import pytest
import websockets

pytestmark = pytest.mark.slow


def test_http_and_websocket_share_one_port(live_asgi):
    response = httpx.get(f"{live_asgi}/api/schema/", timeout=10)
    assert response.status_code == 200
    assert response.headers["x-request-id"]
    assert "openapi: 3" in response.text

    async def hello() -> dict:
        ws_url = live_asgi.replace("http://", "ws://") + "/ws/prices/"
        async with websockets.connect(ws_url, origin=live_asgi) as ws:
            return json.loads(await asyncio.wait_for(ws.recv(), 5))

    assert asyncio.run(hello())["type"] == "hello"


def test_docs_and_their_assets_are_served_locally(live_asgi):
    with httpx.Client(base_url=live_asgi, timeout=10) as client:
        for page in ("/docs/", "/redoc/"):
            html = client.get(page)
            assert html.status_code == 200
            assets = [
                part.split('"')[0]
                for part in html.text.split('src="')[1:]
                if part.startswith("/static/")
            ]
            assert assets, page
            for asset in assets:
                assert client.get(asset).status_code == 200, asset
        assert client.get("/admin/login/").status_code == 200


def test_websocket_from_a_foreign_origin_is_refused(live_asgi):
    async def connect() -> None:
        ws_url = live_asgi.replace("http://", "ws://") + "/ws/prices/"
        async with websockets.connect(ws_url, origin="http://evil.example"):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(connect())
