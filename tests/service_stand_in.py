"""The service over a stand-in answerer, shared by the malformed-input tests of the service: the app runs
the real `Answerer.ask` (its question check) and records what reaches the models, which the stand-in then
refuses with a 400 of its own. Import the fixtures `asked` and `client` into a test module to use them."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from kvqae.ask.answer import Answerer
from kvqae.errors import InputError
from kvqae.serve.app import create_app


@pytest.fixture(scope="module")
def asked() -> list:
    """(question, has an image) of every request that reached the models, in order."""
    return []


@pytest.fixture(scope="module")
def client(asked) -> TestClient:
    """A TestClient of the app over the stand-in (see the module doc)."""

    def models(question, image, top_k=None):
        asked.append((question, image is not None))
        raise InputError("stand-in: no models here")

    inner = SimpleNamespace(lock=threading.Lock(), _ask=models)
    def ask(question, image=None, top_k=None):
        return Answerer.ask(inner, question, image, top_k=top_k)

    answerer = SimpleNamespace(ask=ask)
    return TestClient(create_app(answerer, examples=[]), raise_server_exceptions=False)


def service_error(resp, status: int) -> dict:
    """The `error` object of a response, after checking its status."""
    assert resp.status_code == status, resp.text
    return resp.json()["error"]
