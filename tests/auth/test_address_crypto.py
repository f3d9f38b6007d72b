"""Addresses are stored encrypted and stay readable after a key rotation."""

from __future__ import annotations

import base64
import uuid

import pytest

from dorami_api.users.crypto import AddressDecryptionError, decrypt_address, encrypt_address

ADDRESS = {"fullName": "Dora Kim", "address1": "1 Main St", "city": "Austin", "state": "TX", "zip": "73301"}
OLD_KEY = base64.b64encode(b"o" * 32).decode()
NEW_KEY = base64.b64encode(b"n" * 32).decode()


def test_the_envelope_hides_the_address_and_opens_for_its_owner_only(app):
    owner = str(uuid.uuid4())
    with app.app_context():
        envelope = encrypt_address(ADDRESS, owner)
        assert "Main" not in str(envelope) and "Austin" not in str(envelope)
        assert decrypt_address(envelope, owner) == ADDRESS
        with pytest.raises(AddressDecryptionError):
            decrypt_address(envelope, str(uuid.uuid4()))


def test_addresses_written_before_a_key_rotation_stay_readable(make_app):
    owner = str(uuid.uuid4())
    before = make_app(PROFILE_ENCRYPTION_KEY=OLD_KEY, PROFILE_ENCRYPTION_KEY_VERSION="v1")
    with before.app_context():
        envelope = encrypt_address(ADDRESS, owner)
    after = make_app(
        PROFILE_ENCRYPTION_KEY=NEW_KEY, PROFILE_ENCRYPTION_KEY_VERSION="v2", PROFILE_LEGACY_ENCRYPTION_KEYS=OLD_KEY
    )
    with after.app_context():
        assert decrypt_address(envelope, owner) == ADDRESS
        assert encrypt_address(ADDRESS, owner)["v"] == "v2"
    forgotten = make_app(PROFILE_ENCRYPTION_KEY=NEW_KEY, PROFILE_ENCRYPTION_KEY_VERSION="v2")
    with forgotten.app_context(), pytest.raises(AddressDecryptionError):
        decrypt_address(envelope, owner)
