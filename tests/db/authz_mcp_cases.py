"""Authorization cases for the MCP config, token, OAuth2 state and chat Store methods.

Configs are deployment config (members: not found / filtered out; auditors read; owners write);
tokens and states belong to their user; chats to their owner. Merged into CASES by
tests/db/test_authz_store.py; seeded by `seed_mcp` in tests/db/authz_support.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.db.authz_support import (
    NOW,
    Case,
    World,
    allowed,
    chat_row,
    config_row,
    forbidden,
    message_row,
    not_found,
    state_row,
    token_row,
)


def x(w: World, name: str) -> Any:
    return w.extra[name]


def _slugs(rows: Any) -> set[str]:
    return {r.slug for r in rows}


MCP_CASES: dict[str, list[Case]] = {
    # --- configs: deployment config ---
    "get_mcp_server_config_by_id": [
        not_found(lambda s, w: s.get_mcp_server_config_by_id(x(w, "forced").id)),
        allowed(lambda s, w: s.get_mcp_server_config_by_id(x(w, "disabled").id), actor="auditor"),
    ],
    "get_mcp_server_config_by_slug": [
        not_found(lambda s, w: s.get_mcp_server_config_by_slug("forced")),
        allowed(lambda s, w: s.get_mcp_server_config_by_slug("off"), actor="auditor"),
    ],
    "list_mcp_server_configs": [
        allowed(lambda s, w: s.list_mcp_server_configs(), check=lambda r, w: r == []),
        allowed(
            lambda s, w: s.list_mcp_server_configs(), actor="auditor", check=lambda r, w: _slugs(r) == {"forced", "off"}
        ),
    ],
    "list_enabled_mcp_server_configs": [
        allowed(lambda s, w: s.list_enabled_mcp_server_configs(), check=lambda r, w: r == []),
        allowed(
            lambda s, w: s.list_enabled_mcp_server_configs(),
            actor="auditor",
            check=lambda r, w: _slugs(r) == {"forced"},
        ),
    ],
    "list_mcp_server_configs_by_ids": [
        allowed(lambda s, w: s.list_mcp_server_configs_by_ids([x(w, "forced").id]), check=lambda r, w: r == []),
        allowed(
            lambda s, w: s.list_mcp_server_configs_by_ids([x(w, "forced").id, x(w, "disabled").id]),
            actor="auditor",
            check=lambda r, w: len(r) == 2,
        ),
        # Locking for a chat's selection filters the same way (chats call it as the system).
        allowed(
            lambda s, w: s.list_mcp_server_configs_by_ids([x(w, "forced").id], for_key_share=True),
            check=lambda r, w: r == [],
        ),
        allowed(
            lambda s, w: s.list_mcp_server_configs_by_ids([x(w, "forced").id, x(w, "disabled").id], for_key_share=True),
            actor="auditor",
            check=lambda r, w: _slugs(r) == {"forced", "off"},
        ),
    ],
    "list_forced_mcp_server_configs": [
        allowed(lambda s, w: s.list_forced_mcp_server_configs(), check=lambda r, w: r == []),
        allowed(
            lambda s, w: s.list_forced_mcp_server_configs(), actor="auditor", check=lambda r, w: _slugs(r) == {"forced"}
        ),
    ],
    "insert_mcp_server_config": [
        forbidden(lambda s, w: s.insert_mcp_server_config(config_row("new", enabled=True, availability="default_on"))),
        forbidden(
            lambda s, w: s.insert_mcp_server_config(config_row("new", enabled=True, availability="default_on")),
            actor="auditor",
        ),
        allowed(
            lambda s, w: s.insert_mcp_server_config(config_row("new", enabled=True, availability="default_on")),
            actor="owner",
        ),
    ],
    "update_mcp_server_config": [
        forbidden(lambda s, w: s.update_mcp_server_config(dataclasses.replace(x(w, "forced"), enabled=False))),
        forbidden(
            lambda s, w: s.update_mcp_server_config(dataclasses.replace(x(w, "forced"), enabled=False)), actor="auditor"
        ),
        allowed(
            lambda s, w: s.update_mcp_server_config(dataclasses.replace(x(w, "forced"), enabled=False)),
            actor="owner",
            check=lambda r, w: r.enabled is False,
        ),
    ],
    "delete_mcp_server_config": [
        forbidden(lambda s, w: s.delete_mcp_server_config(x(w, "forced").id)),
        allowed(lambda s, w: s.delete_mcp_server_config(x(w, "forced").id), actor="owner"),
    ],
    # --- per-user tokens: the user's own ---
    "get_mcp_server_user_token": [
        allowed(
            lambda s, w: s.get_mcp_server_user_token(x(w, "forced").id, w.me),
            check=lambda r, w: r.id == x(w, "my_token").id,
        ),
        not_found(lambda s, w: s.get_mcp_server_user_token(x(w, "forced").id, w.other)),
    ],
    "list_mcp_server_user_tokens_by_user_id": [
        allowed(lambda s, w: s.list_mcp_server_user_tokens_by_user_id(w.me), check=lambda r, w: len(r) == 1),
        allowed(lambda s, w: s.list_mcp_server_user_tokens_by_user_id(w.other), check=lambda r, w: r == []),
    ],
    "upsert_mcp_server_user_token": [
        allowed(lambda s, w: s.upsert_mcp_server_user_token(token_row(x(w, "disabled").id, w.me))),
        not_found(lambda s, w: s.upsert_mcp_server_user_token(token_row(x(w, "disabled").id, w.other))),
    ],
    "update_mcp_server_user_token_from_refresh": [
        allowed(lambda s, w: s.update_mcp_server_user_token_from_refresh(x(w, "my_token"))),
        not_found(lambda s, w: s.update_mcp_server_user_token_from_refresh(x(w, "other_token"))),
    ],
    "mark_mcp_server_user_token_refresh_failure": [
        allowed(lambda s, w: s.mark_mcp_server_user_token_refresh_failure(x(w, "forced").id, w.me, "invalid_grant")),
        not_found(lambda s, w: s.mark_mcp_server_user_token_refresh_failure(x(w, "forced").id, w.other, "x")),
    ],
    "delete_mcp_server_user_token": [
        allowed(lambda s, w: s.delete_mcp_server_user_token(x(w, "forced").id, w.me), check=lambda r, w: r is True),
        not_found(lambda s, w: s.delete_mcp_server_user_token(x(w, "forced").id, w.other)),
    ],
    # --- OAuth2 states: the user's own ---
    "insert_mcp_oauth2_state": [
        allowed(lambda s, w: s.insert_mcp_oauth2_state(state_row(x(w, "forced").id, w.me))),
        not_found(lambda s, w: s.insert_mcp_oauth2_state(state_row(x(w, "forced").id, w.other))),
    ],
    "consume_mcp_oauth2_state": [
        allowed(
            lambda s, w: s.consume_mcp_oauth2_state(x(w, "my_state").state_hash), check=lambda r, w: r.user_id == w.me
        ),
        not_found(lambda s, w: s.consume_mcp_oauth2_state(x(w, "other_state").state_hash)),
    ],
    "delete_expired_mcp_oauth2_states": [
        forbidden(lambda s, w: s.delete_expired_mcp_oauth2_states(NOW)),
        allowed(lambda s, w: s.delete_expired_mcp_oauth2_states(NOW), actor="owner"),
    ],
    # --- chats: the owner's ---
    "insert_chat": [
        allowed(lambda s, w: s.insert_chat(chat_row(w.me))),
        not_found(lambda s, w: s.insert_chat(chat_row(w.other))),
    ],
    "get_chat_by_id": [
        allowed(lambda s, w: s.get_chat_by_id(x(w, "my_chat").id)),
        not_found(lambda s, w: s.get_chat_by_id(x(w, "other_chat").id)),
        not_found(lambda s, w: s.get_chat_by_id(x(w, "my_chat").id), actor="anonymous"),
    ],
    "list_chats_by_owner": [
        allowed(lambda s, w: s.list_chats_by_owner(w.me), check=lambda r, w: len(r) == 1),
        allowed(lambda s, w: s.list_chats_by_owner(w.other), check=lambda r, w: r == []),
    ],
    "update_chat_mcp_server_ids": [
        allowed(lambda s, w: s.update_chat_mcp_server_ids(x(w, "my_chat").id, [x(w, "forced").id])),
        not_found(lambda s, w: s.update_chat_mcp_server_ids(x(w, "other_chat").id, [])),
    ],
    "insert_chat_message": [
        allowed(lambda s, w: s.insert_chat_message(message_row(x(w, "my_chat").id, w.me))),
        not_found(lambda s, w: s.insert_chat_message(message_row(x(w, "other_chat").id, w.other))),
    ],
    "list_chat_messages": [
        allowed(lambda s, w: s.list_chat_messages(x(w, "my_chat").id), check=lambda r, w: r == []),
        not_found(lambda s, w: s.list_chat_messages(x(w, "other_chat").id)),
    ],
}
