"""The sync endpoints are in the OpenAPI schema, which validates without warnings."""

import pytest
import yaml
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_documents_the_sync_endpoints(tmp_path):
    path = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(path))
    schema = yaml.safe_load(path.read_text())
    assert "post" in schema["paths"]["/api/v1/sync/"]
    assert "202" in schema["paths"]["/api/v1/sync/"]["post"]["responses"]
    assert "get" in schema["paths"]["/api/v1/sync-runs/"]
    assert "get" in schema["paths"]["/api/v1/sync-runs/{id}/"]
