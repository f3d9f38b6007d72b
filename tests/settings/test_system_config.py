"""GET /config/public and PUT /admin/config."""

from __future__ import annotations

from dorami_api.realtime import broadcast
from tests.support.auth import signed_in


def test_public_config_has_defaults(client):
    data = client.get("/api/v1/config/public").get_json()["data"]
    assert data["defaultShippingFee"] == "10.00"
    assert data["bankTransfer"] == {"bankName": "", "accountNumber": "", "accountHolder": ""}
    assert data["notice"] == {"text": None, "fontSize": 14, "fontFamily": "Pretendard"}


def test_admin_updates_config_and_a_changed_notice_is_broadcast(app, client, monkeypatch):
    sent = []
    monkeypatch.setattr(broadcast, "notice_updated", sent.append)
    boss = signed_in(app, role="ADMIN").headers
    _, user = signed_in(app, profile=True)
    change = {"noticeText": "Live at 8pm!", "noticeFontSize": 18, "defaultShippingFee": "4.50"}

    assert client.put("/api/v1/admin/config", json=change, headers=user).status_code == 403
    assert client.put("/api/v1/admin/config", json=change).status_code == 401
    response = client.put("/api/v1/admin/config", json=change, headers=boss)
    assert response.status_code == 200
    assert sent == [{"text": "Live at 8pm!", "fontSize": 18, "fontFamily": "Pretendard"}]

    public = client.get("/api/v1/config/public").get_json()["data"]
    assert public["defaultShippingFee"] == "4.50" and public["notice"]["text"] == "Live at 8pm!"

    client.put("/api/v1/admin/config", json={"bankName": "Dorami Bank"}, headers=boss)
    assert len(sent) == 1  # the notice did not change
    assert client.get("/api/v1/admin/config", headers=boss).get_json()["data"]["bankTransfer"]["bankName"] == (
        "Dorami Bank"
    )

    for bad in (
        {"noticeFontSize": 40},
        {"defaultShippingFee": "-1"},
        {"theme": "dark"},
        {"defaultShippingFee": "1.001"},
    ):
        assert client.put("/api/v1/admin/config", json=bad, headers=boss).status_code == 400
