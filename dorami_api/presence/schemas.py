"""The `/streaming` events: joining and leaving a stream's viewers, and the viewer count."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from dorami_api.realtime.broadcast import STREAMING
from dorami_api.realtime.catalogue import server_event
from dorami_api.realtime.replies import RequiredText, SocketPayload
from dorami_api.web.fields import Timestamp


class Watch(SocketPayload):
    streamKey: RequiredText = Field(description="The stream's public key")


class Viewers(BaseModel):
    model_config = ConfigDict(extra="forbid")
    streamKey: str
    viewerCount: int = Field(ge=0)


class ViewerUpdate(Viewers):
    timestamp: Timestamp


server_event(STREAMING, "stream:viewer:update", ViewerUpdate, "The stream's viewer count changed")
