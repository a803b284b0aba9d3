"""Random bodies against /v1/classify never produce a 5xx: whatever the schema lets through, the model can take."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fintune.serve.app import create_app
from fintune.serve.settings import ServeSettings
from tests.serve.conftest import FakePredictor

JSON_HEADERS = {"content-type": "application/json"}
# texts with surrogates, control characters and every plane; "BOOM" would make the fake model fail on purpose
texts = st.text(st.characters(codec=None, exclude_categories=(), exclude_characters="BOM"), max_size=40)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts
anything = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=3))
near_valid = st.fixed_dictionaries(
    {"texts": st.lists(texts | scalars, max_size=12)}, optional={"extra": anything}
)  # mostly strings, so many of these pass and reach the model


@pytest.fixture(scope="module")
def client():
    app = create_app(FakePredictor(), ServeSettings(max_texts=8, max_chars=30, max_wait_ms=0))
    with TestClient(app) as c:
        yield c


def _check(res):
    assert res.status_code < 500, res.text
    assert isinstance(res.json(), dict)  # every answer, good or bad, is a JSON object


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=near_valid | anything)
def test_random_json_never_5xx(client, body):
    res = client.post("/v1/classify", content=json.dumps(body), headers=JSON_HEADERS)
    _check(res)
    if res.status_code == 200:
        assert len(res.json()["predictions"]) == len(body["texts"])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=st.binary(max_size=200))
def test_random_bytes_never_5xx(client, raw):
    _check(client.post("/v1/classify", content=raw, headers=JSON_HEADERS))
