"""Session 31 (a reviewer using `kvqae serve` as a new user): a method a route does not take answered 405
"Method Not Allowed" without the `Allow` header RFC 9110 requires (the error handler dropped it) and without
saying which method to use; a path with no route answered 404 "Not Found", naming neither the path nor the
routes there are. `kvqae ask --image -` (a photo piped in) said "-: image file not found"."""

from __future__ import annotations

import pytest

from cli_run import kvqae
from service_stand_in import asked, client, service_error  # noqa: F401  (fixtures)


@pytest.mark.parametrize("method", ["GET", "OPTIONS", "PUT", "DELETE"])
def test_a_method_the_ask_does_not_take_names_post_and_sends_allow(client, method):  # noqa: F811
    resp = client.request(method, "/api/ask")
    error = service_error(resp, 405)
    assert resp.headers["allow"] == "POST"
    assert method in error["message"] and "/api/ask" in error["message"] and "POST" in error["message"]


def test_a_405_on_the_page_and_on_static_files_lists_get_and_head(client):  # noqa: F811
    page = client.post("/", data={"question": "Who?"})
    service_error(page, 405)
    assert {m.strip() for m in page.headers["allow"].split(",")} == {"GET", "HEAD"}
    static = client.post("/static/app.js")
    error = service_error(static, 405)
    assert static.headers["allow"] == "GET, HEAD" and "/static/app.js" in error["message"]


def test_an_unknown_path_names_the_path_and_the_routes(client):  # noqa: F811
    for path in ("/nope", "/index.html", "/static/nope.js", "/api/ask/extra/part"):
        error = service_error(client.get(path), 404)
        assert repr(path) in error["message"], error
        assert "POST /api/ask" in error["message"] and "/docs" in error["message"], error
    long = "/x" * 3000
    assert len(service_error(client.get(long), 404)["message"]) < 400  # the path is cut, not echoed whole


def test_ask_image_from_standard_input_says_it_is_not_read(monkeypatch, capsys, tmp_path):
    code, err = kvqae(monkeypatch, capsys, "ask", tmp_path, "-q", "Who is this?", "--image", "-")
    assert code == 2 and "standard input" in err and "not found" not in err, err


def test_a_passage_id_given_as_an_entity_id_names_its_entity():
    """The `id` of a fused hit is a passage id ("A#1"): `GET /api/entities/A#1` said "unknown entity id"."""
    from types import SimpleNamespace

    from fastapi.testclient import TestClient

    from kvqae.serve.app import create_app

    kb = SimpleNamespace(has_entity=lambda e: e == "A", has_passage=lambda p: p == "A#1",
                         entity_of=lambda p: "A")
    app = create_app(SimpleNamespace(kb=kb), examples=[])
    with TestClient(app, raise_server_exceptions=False) as service:
        for suffix in ("", "/image"):
            error = service_error(service.get(f"/api/entities/A%231{suffix}"), 404)
            assert "passage id" in error["message"] and f"GET /api/entities/A{suffix}" in error["message"]
        assert service_error(service.get("/api/entities/B"), 404)["message"] == "unknown entity id 'B'"
        long = service_error(service.get("/api/entities/" + "x" * 5000), 404)["message"]
        assert len(long) < 200 and long.endswith("...'")
