"""Fallback set-up when the service has no /auth/dev-login or stream routes yet: the same
accounts.json as loadgen/setup.mjs (an admin, a LIVE stream, N logged-in accounts), written
through the service's own session and token code (the code every login route uses), straight into
the benchmark's database. Profiles are completed too (depositor name; no shipping address: that
needs the users routes, so orders would still be refused).

    DATABASE_URL=... REDIS_URL=... JWT_SECRET=... .venv/bin/python bench/seed.py --accounts 2000 --out accounts.json
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path

# The service checkout being measured (run.py passes PYTHONPATH/cwd); this one by default.
ROOT = Path(os.environ.get("PYTHONPATH", "").split(os.pathsep)[0] or Path(__file__).resolve().parents[1])
sys.path.insert(0, str(ROOT))

from dorami_api import create_app  # noqa: E402
from dorami_api.auth.sessions import start_session  # noqa: E402
from dorami_api.extensions import db  # noqa: E402
from dorami_api.streaming.models import LiveStream  # noqa: E402
from dorami_api.users.models import User  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--admin", default="bench-admin@bench.test")
    parser.add_argument("--prefix", default="bench")
    args = parser.parse_args()
    started = time.monotonic()
    app = create_app()
    with app.app_context():
        admin = User(email=args.admin, name="Bench Admin", role="ADMIN")
        users = [User(email=f"{args.prefix}-{i}@bench.test", name=f"Viewer {i}") for i in range(args.accounts)]
        for i, user in enumerate(users):
            if hasattr(user, "depositor_name"):
                user.depositor_name = f"Buyer {i}"
        db.session.add(admin)
        db.session.add_all(users)
        db.session.flush()
        stream = LiveStream(
            stream_key=f"bench-{secrets.token_hex(6)}",
            publish_key=secrets.token_hex(16),
            host_id=admin.id,
            title="Benchmark live",
            status="LIVE",
        )
        db.session.add(stream)
        db.session.commit()

        def login(user: User) -> dict:
            _, pair = start_session(user)
            return {"email": user.email, "userId": str(user.id), "token": pair.access_token}

        out = {
            "admin": login(admin),
            "stream": {"id": str(stream.id), "streamKey": stream.stream_key},
            "accounts": [login(u) for u in users],
            "seeded": True,
        }
    args.out.write_text(json.dumps(out))
    seconds = round(time.monotonic() - started, 1)
    print(
        json.dumps(
            {"setup": "seeded", "accounts": args.accounts, "stream": out["stream"]["streamKey"], "seconds": seconds}
        )
    )


if __name__ == "__main__":
    main()
