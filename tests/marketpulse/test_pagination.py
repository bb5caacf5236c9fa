"""Every list pages strictly (`LimitOffsetPage` is the default): a page size that is not a
whole number, or over the maximum, is a 400 naming `limit`, and the schema states the bounds."""

import pytest
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from marketpulse.api.pagination import LimitOffsetPage
from tests.factories import PortfolioFactory
from tests.schema_helpers import generated_schema, query_parameter

LISTS = [
    "/api/v1/portfolios/",
    "/api/v1/portfolios/{portfolio}/trades/",
    "/api/v1/api-keys/",
    "/api/v1/sync-runs/",
]


@pytest.fixture
def signed_in(operator) -> tuple[APIClient, int]:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(operator)
    portfolio = PortfolioFactory(owner=operator, name="Main")
    return client, portfolio.pk


def test_the_strict_paginator_is_the_default():
    assert api_settings.DEFAULT_PAGINATION_CLASS is LimitOffsetPage


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize(
    "params",
    [
        {"limit": "abc"},
        {"limit": str(LimitOffsetPage.max_limit + 1)},
        {"limit": "0"},
        {"limit": ""},
    ],
)
def test_a_bad_page_size_is_a_400_naming_limit(signed_in, path, params):
    client, portfolio = signed_in
    response = client.get(path.format(portfolio=portfolio), params)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "limit" in error["details"]


@pytest.mark.parametrize("path", LISTS)
def test_the_largest_page_is_accepted(signed_in, path):
    client, portfolio = signed_in
    response = client.get(
        path.format(portfolio=portfolio), {"limit": LimitOffsetPage.max_limit}
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("path", [*LISTS, "/api/v1/assets/"])
def test_the_schema_states_the_page_bounds(db, path):
    path = path.replace("{portfolio}", "{portfolio_pk}")
    schema = generated_schema()
    assert query_parameter(schema, path, "limit") == {
        "type": "integer",
        "minimum": 1,
        "maximum": LimitOffsetPage.max_limit,
        "default": LimitOffsetPage.default_limit,
    }
    assert query_parameter(schema, path, "offset") == {
        "type": "integer",
        "minimum": 0,
        "maximum": LimitOffsetPage.max_offset,
        "default": 0,
    }
