"""Responses go out compressed when the browser accepts it (flask-compress through Dash's ``compress=True``)."""
from __future__ import annotations

import gzip
import json


def test_callback_json_and_page_are_gzipped_for_browsers_that_accept_it(client_as):
    client = client_as("leader")
    plain = client.get("/_dash-layout")
    zipped = client.get("/_dash-layout", headers={"Accept-Encoding": "gzip"})
    assert plain.status_code == zipped.status_code == 200
    assert "Content-Encoding" not in plain.headers            # a client that does not ask gets plain JSON
    assert zipped.headers.get("Content-Encoding") == "gzip"
    raw = gzip.decompress(zipped.get_data())
    assert json.loads(raw) == json.loads(plain.get_data())    # the same layout, only smaller on the wire
    assert len(zipped.get_data()) < len(raw) / 3
