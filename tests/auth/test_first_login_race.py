"""Two first sign-ins of the same new account at the same moment both succeed, on one row."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import requests
import sqlalchemy as sa

from dorami_api.extensions import db
from dorami_api.users.models import User


def test_simultaneous_first_dev_logins_share_one_account(app, live_server):
    server = live_server(workers=2, ENABLE_DEV_AUTH="true")
    email = "first.time@dorami.test"

    def sign_in(_):
        return requests.post(
            f"{server.url}/api/v1/auth/dev-login",
            json={"email": email},
            headers={"Connection": "close"},
            timeout=20,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(sign_in, range(8)))
    assert [r.status_code for r in responses] == [200] * 8, server.log()[-3000:]
    user_ids = {r.json()["data"]["user"]["id"] for r in responses}
    assert len(user_ids) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email)) == 1
