"""Member bodies."""

from __future__ import annotations

from pydantic import BaseModel, Field

from gateway.membership import Member, Role


class MemberPublic(BaseModel):
    """A member as the API shows it."""

    address: str = Field(description="Checksum address")
    name: str
    roles: list[str] = Field(description="Role names, e.g. ['REQUESTER', 'PROVIDER']")
    role_bits: int = Field(ge=0, le=255, description="The roles as the contract's bitmask")

    @classmethod
    def of(cls, member: Member) -> MemberPublic:
        """The public view of a member."""
        names = [role.name for role in Role if role & member.roles and role.name]
        return cls(address=member.address, name=member.name, roles=names, role_bits=int(member.roles))


class MemberRecord(BaseModel):
    """A member as the Consortium contract holds it, with its published transport endpoint."""

    address: str
    name: str
    role_bits: int
    transport_key: str
    endpoint: str
