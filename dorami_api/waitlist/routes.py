"""/waitlist: queue for a sold-out product, see your position, leave."""

from __future__ import annotations

import uuid

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from dorami_api.auth.guards import current_user_id, login_required
from dorami_api.realtime.broadcast import ROOT
from dorami_api.realtime.catalogue import server_event
from dorami_api.waitlist import service
from dorami_api.web.fields import Timestamp
from dorami_api.web.responses import created, no_content, ok
from dorami_api.web.validation import Schema, body, documented

bp = Blueprint("waitlist", __name__)


class JoinWaitlist(Schema):
    productId: uuid.UUID
    variantId: uuid.UUID | None = None
    quantity: int = Field(default=1, ge=1, le=10)


class Promoted(BaseModel):
    model_config = ConfigDict(extra="forbid")
    waitlistEntryId: str
    cartItemId: str
    productId: str
    variantId: str | None
    productName: str
    quantity: int
    expiresAt: Timestamp | None


server_event(ROOT, "waitlist:promoted", Promoted, "Units came back: they are held in your cart until expiresAt")


@bp.post("")
@login_required
@body(JoinWaitlist)
@documented("Join a sold-out product's queue", status=201, errors=(404, 409), tags=("waitlist",), auth="user")
def join(body: JoinWaitlist):
    return created(service.entry_json(service.join(current_user_id(), body.productId, body.variantId, body.quantity)))


@bp.get("")
@login_required
@documented("My places in line (waiting or promoted)", tags=("waitlist",), auth="user")
def mine():
    return ok({"items": [service.entry_json(entry) for entry in service.my_entries(current_user_id())]})


@bp.get("/<uuid:entry_id>")
@login_required
@documented("One of my waitlist entries with its position", errors=(404,), tags=("waitlist",), auth="user")
def get_entry(entry_id: uuid.UUID):
    return ok(service.entry_json(service.my_entry(current_user_id(), entry_id)))


@bp.delete("/<uuid:entry_id>")
@login_required
@documented("Leave the queue (a promotion passes on)", status=204, errors=(404,), tags=("waitlist",), auth="user")
def leave(entry_id: uuid.UUID):
    service.leave(current_user_id(), entry_id)
    return no_content()
