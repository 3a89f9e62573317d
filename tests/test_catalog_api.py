"""The catalog over GraphQL: each model carries the boot path of each of its firmwares."""

from __future__ import annotations

from typing import Any

from account_tree import build_tree

BOOT_PATHS = """{ manufacturers { key models { key bootPaths {
  firmware dhcpOptions userAgentMac mainFile
  requests { fileName over fallback answered answeredOver leadsTo note } } } } }"""


async def test_a_model_shows_how_a_factory_fresh_phone_boots(
    gql: Any, session_factory: Any, services: Any
) -> None:
    tree = await build_tree(session_factory, services)
    body = await gql(BOOT_PATHS, token=tree["u1"].token)
    assert "errors" not in body, body
    makers = {maker["key"]: maker for maker in body["data"]["manufacturers"]}
    models = {model["key"]: model for model in makers["polycom"]["models"]}
    [ucs] = [path for path in models["VVX400"]["bootPaths"] if path["firmware"] == "UCS"]
    assert ucs["dhcpOptions"] == [160, 66]
    assert ucs["userAgentMac"] is False
    assert ucs["mainFile"] == "{mac}-user.cfg"
    master, common = ucs["requests"]
    assert master["fileName"] == "{mac}.cfg" and master["answeredOver"] == ["TFTP", "HTTP"]
    assert master["leadsTo"] == ["{mac}-user.cfg", "common.cfg"]
    assert common["fileName"] == "000000000000.cfg"
    assert (common["answered"], common["fallback"], common["answeredOver"]) == (False, True, [])
    assert "no MAC" in common["note"]
    spa = {model["key"]: model for model in makers["cisco"]["models"]}["SPA504G"]
    [bootstrap] = spa["bootPaths"][0]["requests"]
    assert bootstrap["fileName"] == "spa504G.cfg" and bootstrap["answeredOver"] == ["HTTP"]


async def test_boot_paths_need_a_signed_in_viewer(gql: Any) -> None:
    body = await gql(BOOT_PATHS)
    assert body.get("data") is None and body["errors"], body
