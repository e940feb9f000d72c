"""Authorization cases for the chat loop's Store methods: providers, model configs, settings.

Providers and model configs: owners write, auditors read, members see nothing (the picker goes
through `as_system`). Settings are deployment config. A chat's model is a write on the chat.
Merged into CASES by tests/db/test_authz_store.py; seeded by tests/db/authz_chat_support.py.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.db.authz_chat_support import AT, model_row, provider_row, queued_row
from tests.db.authz_support import Case, World, allowed, forbidden, not_found


def x(w: World, name: str) -> Any:
    return w.extra[name]


CHAT_ADMIN_CASES: dict[str, list[Case]] = {
    "list_chat_providers": [
        allowed(lambda s, w: s.list_chat_providers(), check=lambda r, w: r == []),
        allowed(lambda s, w: s.list_chat_providers(), actor="auditor", check=lambda r, w: len(r) == 1),
    ],
    "get_chat_provider_by_id": [
        not_found(lambda s, w: s.get_chat_provider_by_id(x(w, "chat_provider").id)),
        allowed(lambda s, w: s.get_chat_provider_by_id(x(w, "chat_provider").id), actor="auditor"),
    ],
    "insert_chat_provider": [
        forbidden(lambda s, w: s.insert_chat_provider(provider_row("openai"))),
        forbidden(lambda s, w: s.insert_chat_provider(provider_row("openai")), actor="auditor"),
        allowed(lambda s, w: s.insert_chat_provider(provider_row("openai")), actor="owner"),
    ],
    "update_chat_provider": [
        forbidden(lambda s, w: s.update_chat_provider(x(w, "chat_provider"))),
        allowed(
            lambda s, w: s.update_chat_provider(dataclasses.replace(x(w, "chat_provider"), enabled=False)),
            actor="owner",
            check=lambda r, w: r.enabled is False,
        ),
    ],
    "delete_chat_provider": [
        forbidden(lambda s, w: s.delete_chat_provider(x(w, "chat_provider").id), actor="auditor"),
        allowed(lambda s, w: s.delete_chat_provider(x(w, "chat_provider").id), actor="owner"),
    ],
    "list_chat_model_configs": [
        allowed(lambda s, w: s.list_chat_model_configs(), check=lambda r, w: r == []),
        allowed(lambda s, w: s.list_chat_model_configs(), actor="auditor", check=lambda r, w: len(r) == 1),
    ],
    "get_chat_model_config_by_id": [
        not_found(lambda s, w: s.get_chat_model_config_by_id(x(w, "chat_model").id)),
        allowed(lambda s, w: s.get_chat_model_config_by_id(x(w, "chat_model").id), actor="auditor"),
    ],
    "insert_chat_model_config": [
        forbidden(lambda s, w: s.insert_chat_model_config(model_row(x(w, "chat_provider").id, "other"))),
        allowed(lambda s, w: s.insert_chat_model_config(model_row(x(w, "chat_provider").id, "other")), actor="owner"),
    ],
    "update_chat_model_config": [
        forbidden(lambda s, w: s.update_chat_model_config(x(w, "chat_model")), actor="auditor"),
        allowed(
            lambda s, w: s.update_chat_model_config(dataclasses.replace(x(w, "chat_model"), deleted_at=AT)),
            actor="owner",
            check=lambda r, w: r.deleted_at == AT,
        ),
    ],
    "clear_chat_model_config_default": [
        forbidden(lambda s, w: s.clear_chat_model_config_default()),
        allowed(lambda s, w: s.clear_chat_model_config_default(), actor="owner"),
    ],
    "get_chat_setting": [
        forbidden(lambda s, w: s.get_chat_setting("system_prompt")),
        allowed(lambda s, w: s.get_chat_setting("system_prompt"), actor="auditor", check=lambda r, w: r == ""),
    ],
    "upsert_chat_setting": [
        forbidden(lambda s, w: s.upsert_chat_setting("system_prompt", "be nice", AT), actor="auditor"),
        allowed(lambda s, w: s.upsert_chat_setting("system_prompt", "be nice", AT), actor="owner"),
    ],
    "update_chat_model_config_id": [
        allowed(lambda s, w: s.update_chat_model_config_id(x(w, "my_chat").id, x(w, "chat_model").id)),
        not_found(lambda s, w: s.update_chat_model_config_id(x(w, "other_chat").id, None)),
    ],
    # --- turns: the chat owner's, the worker's ---
    "update_chat_run_state": [
        allowed(
            lambda s, w: s.update_chat_run_state(
                x(w, "my_chat").id, "pending", worker_id=None, heartbeat_at=None, last_error=None
            ),
            check=lambda r, w: r.status == "pending",
        ),
        not_found(
            lambda s, w: s.update_chat_run_state(
                x(w, "other_chat").id, "pending", worker_id=None, heartbeat_at=None, last_error=None
            )
        ),
    ],
    "claim_chat": [
        forbidden(lambda s, w: s.claim_chat("w1", AT, AT)),
        allowed(lambda s, w: s.claim_chat("w1", AT, AT), actor="owner", check=lambda r, w: r is None),
    ],
    "heartbeat_chat": [
        forbidden(lambda s, w: s.heartbeat_chat(x(w, "my_chat").id, "w1", AT)),
        allowed(
            lambda s, w: s.heartbeat_chat(x(w, "my_chat").id, "w1", AT), actor="owner", check=lambda r, w: r is False
        ),
    ],
    "update_chat_usage": [
        allowed(lambda s, w: s.update_chat_usage(x(w, "my_chat").id, {"input_tokens": 3})),
        not_found(lambda s, w: s.update_chat_usage(x(w, "other_chat").id, None)),
    ],
    "update_chat_title": [
        allowed(lambda s, w: s.update_chat_title(x(w, "my_chat").id, "hello")),
        not_found(lambda s, w: s.update_chat_title(x(w, "other_chat").id, "hello")),
    ],
    "insert_chat_queued_message": [
        allowed(lambda s, w: s.insert_chat_queued_message(queued_row(x(w, "my_chat").id, w.me))),
        not_found(lambda s, w: s.insert_chat_queued_message(queued_row(x(w, "other_chat").id, w.other))),
    ],
    "list_chat_queued_messages": [
        allowed(lambda s, w: s.list_chat_queued_messages(x(w, "my_chat").id), check=lambda r, w: len(r) == 1),
        not_found(lambda s, w: s.list_chat_queued_messages(x(w, "other_chat").id)),
    ],
    "count_chat_queued_messages": [
        allowed(lambda s, w: s.count_chat_queued_messages(x(w, "my_chat").id), check=lambda r, w: r == 1),
        not_found(lambda s, w: s.count_chat_queued_messages(x(w, "other_chat").id)),
    ],
    "pop_chat_queued_message": [
        allowed(lambda s, w: s.pop_chat_queued_message(x(w, "my_chat").id), check=lambda r, w: r is not None),
        not_found(lambda s, w: s.pop_chat_queued_message(x(w, "other_chat").id)),
    ],
}
