"""Slack's documented Block Kit limits, as a checker over rendered JSON (messages and views).

Sources: docs.slack.dev reference pages for blocks, block elements, composition objects and views.
"""

from __future__ import annotations

from typing import Any

MESSAGE_BLOCKS = 50
MODAL_BLOCKS = 100
SECTION_TEXT = 3000
HEADER_TEXT = 150
BUTTON_TEXT = 75
ACTION_ID = 255
BLOCK_ID = 255
BUTTON_VALUE = 2000
ACTIONS_ELEMENTS = 25
CONTEXT_ELEMENTS = 10
OPTION_TEXT = 75
OPTION_VALUE = 150
OVERFLOW_OPTIONS = (2, 5)
SELECT_OPTIONS = 100
VIEW_TITLE = 24
PRIVATE_METADATA = 3000


def violations(payload: dict[str, Any]) -> list[str]:
    """Every way `payload` (a message {"blocks": …} or a view) breaks a documented limit; [] when it fits."""
    found: list[str] = []
    blocks = payload["blocks"]
    is_view = "type" in payload and payload["type"] in ("modal", "home")
    limit = MODAL_BLOCKS if is_view else MESSAGE_BLOCKS
    if len(blocks) > limit:
        found.append(f"{len(blocks)} blocks > {limit}")
    if is_view:
        for key in ("title", "submit", "close"):
            if key in payload and len(payload[key]["text"]) > VIEW_TITLE:
                found.append(f"view {key} longer than {VIEW_TITLE}")
        if len(payload.get("private_metadata") or "") > PRIVATE_METADATA:
            found.append("private_metadata too long")
    action_ids: list[str] = []
    block_ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(block_ids) != len(set(block_ids)):
        found.append("duplicate block_id")
    for number, block in enumerate(blocks):
        where = f"block {number} ({block['type']})"
        if len(block.get("block_id", "")) > BLOCK_ID:
            found.append(f"{where}: block_id too long")
        if block["type"] == "section":
            if "text" in block and len(block["text"]["text"]) > SECTION_TEXT:
                found.append(f"{where}: text {len(block['text']['text'])} > {SECTION_TEXT}")
        if block["type"] == "header" and len(block["text"]["text"]) > HEADER_TEXT:
            found.append(f"{where}: header text too long")
        if block["type"] == "actions" and len(block["elements"]) > ACTIONS_ELEMENTS:
            found.append(f"{where}: {len(block['elements'])} elements > {ACTIONS_ELEMENTS}")
        if block["type"] == "context" and len(block["elements"]) > CONTEXT_ELEMENTS:
            found.append(f"{where}: too many context elements")
        elements = list(block.get("elements") or []) if block["type"] == "actions" else []
        elements += [block[k] for k in ("accessory", "element") if k in block]
        for element in elements:
            found += _element(where, element)
            if "action_id" in element:
                action_ids.append(element["action_id"])
    if len(action_ids) != len(set(action_ids)):
        found.append("duplicate action_id")
    return found


def _element(where: str, element: dict[str, Any]) -> list[str]:
    found = []
    if len(element.get("action_id", "")) > ACTION_ID:
        found.append(f"{where}: action_id too long")
    if element["type"] == "button":
        if len(element["text"]["text"]) > BUTTON_TEXT:
            found.append(f"{where}: button text too long")
        if len(element.get("value", "")) > BUTTON_VALUE:
            found.append(f"{where}: button value too long")
        if element.get("value") == "":
            found.append(f"{where}: empty button value (Slack wants none or at least one character)")
    options = element.get("options") or []
    if element["type"] == "overflow" and not OVERFLOW_OPTIONS[0] <= len(options) <= OVERFLOW_OPTIONS[1]:
        found.append(f"{where}: overflow needs 2-5 options, has {len(options)}")
    if element["type"] == "static_select" and len(options) > SELECT_OPTIONS:
        found.append(f"{where}: too many options")
    for option in options:
        if len(option["text"]["text"]) > OPTION_TEXT or len(option["value"]) > OPTION_VALUE:
            found.append(f"{where}: option too long")
    return found
