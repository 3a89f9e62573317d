"""The `SipPreferences` type and `updateSipPreferences`."""

from __future__ import annotations

import logging

import strawberry

from magnaprov.db import Codec, DtmfMode, SipPreferences
from magnaprov.resolvers import Problems, sip_preferences
from magnaprov.resolvers.errors import ErrorCode
from magnaprov.schema.context import Info
from magnaprov.schema.errors import UserError, user_errors
from magnaprov.schema.node import decode_id
from magnaprov.schema.permissions import IsAuthenticated
from magnaprov.tenancy import SecretDecryptionError, SipAccess, sip_access

__all__ = ["SipPreferencesMutations", "SipPreferencesType"]

log = logging.getLogger("magnaprov.secrets")

strawberry.enum(
    SipAccess,
    description="FULL: every SIP field; LIMITED: passwords and equipment description only.",
)
strawberry.enum(
    DtmfMode,
    description="How key presses travel: RFC 2833 events, in-band audio, SIP INFO, or auto.",
)
strawberry.enum(Codec, description="An audio codec.")


@strawberry.type(
    name="SipPreferences", description="SIP preferences of a phone-terminal extension."
)
class SipPreferencesType:
    sip_access: SipAccess = strawberry.field(
        description="What the viewer may read and write here; LIMITED viewers read null elsewhere."
    )
    use_interface_password: bool = strawberry.field(
        description="The phone uses the owner's interface password and follows its changes."
    )
    equipment_description: str = strawberry.field(description="Free text about the phone.")
    dtmf_mode: DtmfMode | None = strawberry.field(description="DTMF mode (FULL access).")
    codecs: list[Codec] | None = strawberry.field(
        description="Codecs in order of preference (FULL access)."
    )
    nat_keep_alive: bool | None = strawberry.field(
        description="Send NAT keep-alives (FULL access)."
    )
    allowed_registration_ips: list[str] | None = strawberry.field(
        description="Networks the phone may register from; empty: anywhere (FULL access)."
    )
    presence_publishing: bool | None = strawberry.field(
        description="Publish presence (FULL access)."
    )
    direct_media: bool | None = strawberry.field(
        description="Media flows phone to phone (FULL access)."
    )
    forced_mwi: bool | None = strawberry.field(
        description="Force message-waiting indication (FULL access)."
    )
    row: strawberry.Private[SipPreferences]

    @classmethod
    def from_row(cls, row: SipPreferences, access: SipAccess) -> SipPreferencesType:
        """The preferences as `access` allows them to be read."""
        full = access is SipAccess.FULL
        return cls(
            sip_access=access,
            use_interface_password=row.use_interface_password,
            equipment_description=row.equipment_description,
            dtmf_mode=row.dtmf_mode if full else None,
            codecs=row.codec_list if full else None,
            nat_keep_alive=row.nat_keep_alive if full else None,
            allowed_registration_ips=row.network_list if full else None,
            presence_publishing=row.presence_publishing if full else None,
            direct_media=row.direct_media if full else None,
            forced_mwi=row.forced_mwi if full else None,
            row=row,
        )

    @strawberry.field(description="The phone (SIP line) password; null while none is set.")
    def phone_password(self, info: Info) -> str | None:
        if self.row.phone_password is None:
            return None
        try:
            return info.context.services.secrets.decrypt(
                self.row.phone_password, self.row.password_identity()
            )
        except SecretDecryptionError as error:
            log.error(
                "phone password of extension %s cannot be decrypted: %s",
                self.row.extension_id,
                error,
            )
            return None


@strawberry.type(description="Result of updateSipPreferences.")
class UpdateSipPreferencesPayload:
    sip_preferences: SipPreferencesType | None = strawberry.field(
        description="The preferences as saved."
    )
    user_errors: list[UserError] = strawberry.field(description="Input problems; empty on success.")


@strawberry.type
class SipPreferencesMutations:
    @strawberry.mutation(
        description="Change SIP preferences; "
        "fields outside the viewer's sipAccess are refused by name.",
        permission_classes=[IsAuthenticated],
    )
    async def update_sip_preferences(
        self,
        info: Info,
        extension_id: strawberry.ID,
        phone_password: str | None = None,
        phone_password_confirmation: str | None = None,
        use_interface_password: bool | None = None,
        interface_password: str | None = None,
        equipment_description: str | None = None,
        dtmf_mode: DtmfMode | None = None,
        codecs: list[Codec] | None = None,
        nat_keep_alive: bool | None = None,
        allowed_registration_ips: list[str] | None = None,
        presence_publishing: bool | None = None,
        direct_media: bool | None = None,
        forced_mwi: bool | None = None,
    ) -> UpdateSipPreferencesPayload:
        ctx = info.context
        viewer = ctx.require_viewer()
        row_id = decode_id(extension_id, "Extension")
        if row_id is None:
            problems = Problems()
            problems.add("extensionId", ErrorCode.NOT_FOUND, "No such extension.")
            return UpdateSipPreferencesPayload(
                sip_preferences=None, user_errors=user_errors(problems)
            )
        changes = sip_preferences.SipChanges(
            phone_password,
            phone_password_confirmation,
            use_interface_password,
            interface_password,
            equipment_description,
            dtmf_mode,
            codecs,
            nat_keep_alive,
            allowed_registration_ips,
            presence_publishing,
            direct_media,
            forced_mwi,
        )
        row, problems = await sip_preferences.update_sip_preferences(
            ctx.db, ctx.services, viewer, row_id, changes
        )
        return UpdateSipPreferencesPayload(
            sip_preferences=None
            if row is None
            else SipPreferencesType.from_row(row, sip_access(viewer)),
            user_errors=user_errors(problems),
        )
