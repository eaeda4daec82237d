"""Party transport bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel


class DeliveryPublic(BaseModel):
    """An envelope was queued for its receiver."""

    status: Literal["accepted"] = "accepted"
