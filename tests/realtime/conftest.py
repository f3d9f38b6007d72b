from __future__ import annotations

import pytest

from tests.support.auth import create_user, login
from tests.support.sockets import Viewer


@pytest.fixture
def connect():
    """connect(url, token=..., namespaces=..., transports=...) -> Viewer, all closed at the end."""
    viewers = []

    def open_viewer(url, **kwargs) -> Viewer:
        viewer = Viewer(url, **kwargs)
        viewers.append(viewer)
        return viewer

    yield open_viewer
    for viewer in viewers:
        viewer.close()


@pytest.fixture
def token_for(app):
    """token_for(role="USER", **fields) -> (user, access token) of a fresh login."""

    def make(role: str = "USER", **fields):
        user = create_user(app, role=role, **fields)
        return user, login(app, user)["access"]

    return make
