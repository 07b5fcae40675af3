"""The page JSON Schema served by the control plane."""

from __future__ import annotations

import json

import jsonschema
from fastapi.testclient import TestClient

from tests.conftest import REPO


def test_page_schema_is_public_and_validates_pages(client: TestClient) -> None:
    r = client.get("/api/v1/schemas/page.json")
    assert r.status_code == 200
    schema = r.json()
    page = json.loads((REPO / "examples" / "todo" / "pages" / "index.json").read_text())
    jsonschema.validate(page, schema)
    broken = {**page, "root": {"type": "Heading", "props": {"level": "huge"}, "children": 5}}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(broken))
    assert errors
