"""Shipping addresses at rest: AES-256-GCM with a versioned key.

The stored envelope is {"v": <key version>, "nonce": b64, "ct": b64}; the user id is bound as
associated data, so an envelope copied onto another user's row does not decrypt. Old envelopes
stay readable after a rotation: PROFILE_LEGACY_ENCRYPTION_KEYS lists previous keys as
`version:key` pairs (or bare keys, tried in turn).
"""

from __future__ import annotations

import base64
import json
import logging
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from flask import current_app

from dorami_api.errors import ApiError

log = logging.getLogger(__name__)


class AddressDecryptionError(ApiError):
    """No configured key opens this envelope (a key was lost from the rotation list). The owner
    is asked to enter the address again rather than shown a server error."""

    def __init__(self, message: str = "The saved shipping address can no longer be read; enter it again"):
        super().__init__(409, "ADDRESS_UNREADABLE", message)


def _current() -> tuple[str, bytes]:
    config = current_app.config["DORAMI"]
    return config.profile_key_version, config.profile_encryption_key


def _candidate_keys(version: str) -> list[bytes]:
    config = current_app.config["DORAMI"]
    keys = [config.profile_encryption_key] if version == config.profile_key_version else []
    return keys + [k for k in config.profile_legacy_keys if k not in keys] + [config.profile_encryption_key]


def encrypt_address(address: dict, user_id: str) -> dict:
    version, key = _current()
    nonce = os.urandom(12)
    plaintext = json.dumps(address, separators=(",", ":"), ensure_ascii=False).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, str(user_id).encode())
    return {
        "v": version,
        "nonce": base64.b64encode(nonce).decode(),
        "ct": base64.b64encode(ciphertext).decode(),
    }


def decrypt_address(envelope: dict | None, user_id: str) -> dict | None:
    if not envelope:
        return None
    nonce = base64.b64decode(envelope["nonce"])
    ciphertext = base64.b64decode(envelope["ct"])
    for key in _candidate_keys(envelope.get("v", "")):
        try:
            return json.loads(AESGCM(key).decrypt(nonce, ciphertext, str(user_id).encode()))
        except InvalidTag:
            continue
    log.error("no configured key decrypts the shipping address of user %s", user_id)
    raise AddressDecryptionError()
