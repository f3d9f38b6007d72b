"""GET /config/public and the admin's GET/PUT /admin/config."""

from __future__ import annotations

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from dorami_api.auth.guards import admin_required
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.settings import service as settings
from dorami_api.web.fields import MoneyIn
from dorami_api.web.responses import ok
from dorami_api.web.validation import Schema, body, documented

public_bp = Blueprint("config", __name__)
admin_bp = Blueprint("admin_config", __name__)


class ConfigUpdate(Schema):
    defaultShippingFee: MoneyIn | None = None
    bankName: str | None = Field(default=None, max_length=100)
    bankAccountNumber: str | None = Field(default=None, max_length=100)
    bankAccountHolder: str | None = Field(default=None, max_length=100)
    noticeText: str | None = Field(default=None, max_length=2000)
    noticeFontSize: int | None = Field(default=None, ge=10, le=24)
    noticeFontFamily: str | None = Field(default=None, min_length=1, max_length=64)


class Notice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str | None
    fontSize: int | None
    fontFamily: str | None


server_event(ROOT, "notice:updated", Notice, "The notice banner changed (to every socket of /)")


@public_bp.get("/public")
@documented("Shipping fee, bank-transfer details and notice banner", tags=("config",))
def public_config():
    return ok(settings.public_config_json(settings.system_config()))


@admin_bp.get("")
@admin_required
@documented("The system configuration", tags=("admin",), auth="admin")
def get_config():
    return ok(settings.admin_config_json(settings.system_config()))


@admin_bp.put("")
@admin_required
@body(ConfigUpdate)
@documented("Change the system configuration (a changed notice is broadcast)", tags=("admin",), auth="admin")
def put_config(body: ConfigUpdate):
    changes = body.model_dump(exclude_unset=True)
    # noticeText may be cleared with null; the other fields are required when given.
    changes = {k: v for k, v in changes.items() if v is not None or k == "noticeText"}
    return ok(settings.admin_config_json(settings.update_config(changes)))
