"""`devplane chats providers|models|system-prompt ...`: the AI models chats may use (admins), and the picker."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

import typer

from devplane.cli import output, runner
from devplane.cli.mcp_secrets import read_secret, read_text
from devplane.cli.output import Output, OutputFormat
from devplane.sdk.chat_models import (
    ChatModelCatalog,
    ChatModelConfig,
    ChatModelOptions,
    ChatProvider,
    ChatSystemPrompt,
    CreateChatModelConfigRequest,
    CreateChatProviderRequest,
    ProviderKind,
    UpdateChatModelConfigRequest,
    UpdateChatProviderRequest,
)
from devplane.sdk.client import Client

providers_app = typer.Typer(
    help="AI model providers (openai, anthropic, openai-compat, and the built-in echo). Owners manage them.",
    no_args_is_help=True,
)
models_app = typer.Typer(
    help="Models offered in the chat model picker. `list` is the picker; the rest need an owner.",
    no_args_is_help=True,
)
prompt_app = typer.Typer(
    help="The deployment's chat system prompt (owners set it; auditors read it).", no_args_is_help=True
)


def _yes(value: bool) -> str:
    return "yes" if value else "no"


PROVIDER_COLUMNS: list[output.Column] = [
    ("ID", lambda p: p.id),
    ("PROVIDER", lambda p: f"{p.provider.value} (test)" if p.is_test_provider else p.provider.value),
    ("NAME", lambda p: p.display_name or "-"),
    ("BASE URL", lambda p: p.base_url or "-"),
    ("ENABLED", lambda p: _yes(p.enabled)),
    ("API KEY", lambda p: "set" if p.has_api_key else "-"),
]
CONFIG_COLUMNS: list[output.Column] = [
    ("ID", lambda c: c.id),
    ("PROVIDER", lambda c: c.provider.value),
    ("MODEL", lambda c: c.model),
    ("NAME", lambda c: c.display_name),
    ("DEFAULT", lambda c: _yes(c.is_default)),
    ("ENABLED", lambda c: _yes(c.enabled)),
    ("CONTEXT", lambda c: c.context_limit),
    ("OPTIONS", lambda c: json.dumps(c.options.model_dump(exclude_none=True)) if c.options else "-"),
]

ProviderRef = Annotated[
    str, typer.Argument(metavar="PROVIDER", help="The provider's kind (e.g. openai) or id.", show_default=False)
]
ModelRef = Annotated[str, typer.Argument(metavar="MODEL_CONFIG_ID", help="The model config's id.", show_default=False)]
APIKeyFile = Annotated[
    str | None,
    typer.Option("--api-key-file", metavar="PATH", help="Read the API key from this file, or '-' for standard input."),
]


async def resolve_provider(client: Client, ref: str) -> ChatProvider:
    for provider in await client.chat_providers():
        if ref in (provider.provider.value, str(provider.id)):
            return provider
    raise output.fail(f"No provider {ref!r}.", "`devplane chats providers list` shows the registered ones.")


# --- providers ---------------------------------------------------------------------------------------
@providers_app.command("list")
def providers_list(fmt: Output = OutputFormat.TABLE) -> None:
    """List the registered providers (never their API keys)."""
    output.emit(fmt, runner.call(lambda c: c.chat_providers()), PROVIDER_COLUMNS)


@providers_app.command("create")
def providers_create(
    provider: Annotated[ProviderKind, typer.Argument(help="openai, anthropic, openai-compat or echo.")],
    display_name: Annotated[str, typer.Option("--display-name", help="A name for people.")] = "",
    base_url: Annotated[str, typer.Option("--base-url", help="The endpoint (required for openai-compat).")] = "",
    api_key_file: APIKeyFile = None,
    disabled: Annotated[bool, typer.Option("--disabled", help="Register it switched off.")] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Register a provider. The key is read from a file or stdin, never from the command line."""
    api_key = read_secret(api_key_file, "--api-key-file") if api_key_file else ""
    req = CreateChatProviderRequest(
        provider=provider, display_name=display_name, base_url=base_url, enabled=not disabled, api_key=api_key
    )
    output.emit(fmt, runner.call(lambda c: c.create_chat_provider(req)), PROVIDER_COLUMNS)


@providers_app.command("edit")
def providers_edit(
    ref: ProviderRef,
    display_name: Annotated[str | None, typer.Option("--display-name", help="A name for people.")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The endpoint; '' for the default.")] = None,
    api_key_file: APIKeyFile = None,
    clear_api_key: Annotated[bool, typer.Option("--clear-api-key", help="Remove the stored key.")] = False,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="Switch it on or off.")] = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Change a provider; options not given keep their value."""
    if api_key_file and clear_api_key:
        raise typer.BadParameter("use --api-key-file or --clear-api-key, not both")
    fields: dict[str, Any] = {"display_name": display_name, "base_url": base_url, "enabled": enabled}
    if api_key_file:
        fields["api_key"] = read_secret(api_key_file, "--api-key-file")
    elif clear_api_key:
        fields["api_key"] = ""
    req = UpdateChatProviderRequest(**{k: v for k, v in fields.items() if v is not None})

    async def action(client: Client) -> ChatProvider:
        return await client.update_chat_provider((await resolve_provider(client, ref)).id, req)

    output.emit(fmt, runner.call(action), PROVIDER_COLUMNS)


Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]


@providers_app.command("delete")
def providers_delete(ref: ProviderRef, yes: Yes = False, fmt: Output = OutputFormat.TABLE) -> None:
    """Remove a provider and its model configs (chats using them fall back to the default model)."""
    target = runner.call(lambda client: resolve_provider(client, ref))
    if not yes and not typer.confirm(f"Delete provider {target.provider.value!r} and its model configs?", err=True):
        raise output.fail("Not deleted.")
    runner.call(lambda client: client.delete_chat_provider(target.id))
    output.message(fmt, f"Deleted provider {target.provider.value!r}.", id=str(target.id))


# --- model configs -----------------------------------------------------------------------------------
CATALOG_COLUMNS: list[output.Column] = [
    ("ID", lambda r: r[0].id),
    ("PROVIDER", lambda r: f"{r[1].provider.value} (test)" if r[1].is_test_provider else r[1].provider.value),
    ("MODEL", lambda r: r[0].model),
    ("NAME", lambda r: r[0].display_name),
    ("DEFAULT", lambda r: _yes(r[0].is_default)),
    ("AVAILABLE", lambda r: "yes" if r[1].available else f"no ({r[1].unavailable_reason})"),
]


@models_app.command("list")
def models_list(
    all_configs: Annotated[
        bool, typer.Option("--all", help="Admins: every model config, disabled ones included, with options.")
    ] = False,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """The models you can pick for a chat, and whether each can answer now."""
    if all_configs:
        output.emit(fmt, runner.call(lambda c: c.chat_model_configs()), CONFIG_COLUMNS)
        return
    catalog: ChatModelCatalog = runner.call(lambda c: c.chat_models())
    if fmt is OutputFormat.JSON:
        output.emit(fmt, catalog, [])
        return
    rows = [(m, p) for p in catalog.providers for m in p.models]
    output.table(rows, CATALOG_COLUMNS)


def _options(
    max_output_tokens: int | None,
    temperature: float | None,
    top_p: float | None,
    parallel_tool_calls: bool | None,
    reasoning_effort: str | None,
) -> ChatModelOptions:
    return ChatModelOptions.model_validate(
        {
            k: v
            for k, v in {
                "max_output_tokens": max_output_tokens,
                "temperature": temperature,
                "top_p": top_p,
                "parallel_tool_calls": parallel_tool_calls,
                "reasoning_effort": reasoning_effort,
            }.items()
            if v is not None
        }
    )


MaxTokens = Annotated[int | None, typer.Option("--max-output-tokens", help="Cap on tokens per answer.")]
Temperature = Annotated[float | None, typer.Option("--temperature", help="0 to 2.")]
TopP = Annotated[float | None, typer.Option("--top-p", help="0 to 1.")]
Parallel = Annotated[
    bool | None, typer.Option("--parallel-tool-calls/--no-parallel-tool-calls", help="Allow several tool calls a step.")
]
Effort = Annotated[str | None, typer.Option("--reasoning-effort", help="minimal, low, medium or high.")]


@models_app.command("create")
def models_create(
    provider: ProviderRef,
    model: Annotated[str, typer.Argument(help="The provider's model name, e.g. gpt-4.1.")],
    context_limit: Annotated[int, typer.Option("--context-limit", help="The model's context window in tokens.")],
    display_name: Annotated[str, typer.Option("--display-name", help="A name for the picker.")] = "",
    default: Annotated[bool, typer.Option("--default", help="Make it the default model.")] = False,
    disabled: Annotated[bool, typer.Option("--disabled", help="Add it switched off.")] = False,
    max_output_tokens: MaxTokens = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    parallel_tool_calls: Parallel = None,
    reasoning_effort: Effort = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Offer a model in the picker."""
    options = _options(max_output_tokens, temperature, top_p, parallel_tool_calls, reasoning_effort)

    async def action(client: Client) -> ChatModelConfig:
        req = CreateChatModelConfigRequest(
            provider_id=(await resolve_provider(client, provider)).id,
            model=model,
            display_name=display_name,
            enabled=not disabled,
            is_default=default,
            context_limit=context_limit,
            options=options,
        )
        return await client.create_chat_model_config(req)

    output.emit(fmt, runner.call(action), CONFIG_COLUMNS)


@models_app.command("edit")
def models_edit(
    ref: ModelRef,
    display_name: Annotated[str | None, typer.Option("--display-name", help="A name for the picker.")] = None,
    context_limit: Annotated[int | None, typer.Option("--context-limit", help="Context window in tokens.")] = None,
    default: Annotated[bool, typer.Option("--default", help="Make it the default model.")] = False,
    enabled: Annotated[bool | None, typer.Option("--enabled/--disabled", help="Switch it on or off.")] = None,
    max_output_tokens: MaxTokens = None,
    temperature: Temperature = None,
    top_p: TopP = None,
    parallel_tool_calls: Parallel = None,
    reasoning_effort: Effort = None,
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Change a model config; options not given keep their value (any option flag replaces the options)."""
    fields: dict[str, Any] = {"display_name": display_name, "context_limit": context_limit, "enabled": enabled}
    if default:
        fields["is_default"] = True
    options = _options(max_output_tokens, temperature, top_p, parallel_tool_calls, reasoning_effort)
    if options.model_dump(exclude_none=True):
        fields["options"] = options
    req = UpdateChatModelConfigRequest(**{k: v for k, v in fields.items() if v is not None})
    output.emit(fmt, runner.call(lambda c: c.update_chat_model_config(_id(ref), req)), CONFIG_COLUMNS)


@models_app.command("delete")
def models_delete(ref: ModelRef, fmt: Output = OutputFormat.TABLE) -> None:
    """Remove a model config from the picker (deleting the default promotes another model)."""
    runner.call(lambda c: c.delete_chat_model_config(_id(ref)))
    output.message(fmt, f"Deleted model config {ref}.", id=ref)


def _id(ref: str) -> uuid.UUID:
    try:
        return uuid.UUID(ref)
    except ValueError:
        raise typer.BadParameter(f"{ref!r} is not a model config id") from None


# --- system prompt -----------------------------------------------------------------------------------
@prompt_app.command("show")
def prompt_show(fmt: Output = OutputFormat.TABLE) -> None:
    """Print the system prompt (empty when unset)."""
    prompt = ChatSystemPrompt(system_prompt=runner.call(lambda c: c.chat_system_prompt()))
    if fmt is OutputFormat.JSON:
        output.emit(fmt, prompt, [])
    else:
        output.stdout().print(prompt.system_prompt, markup=False, highlight=False)


@prompt_app.command("set")
def prompt_set(
    source: Annotated[
        str, typer.Argument(metavar="FILE", help="A file holding the prompt, or '-' for standard input.")
    ],
    fmt: Output = OutputFormat.TABLE,
) -> None:
    """Set the system prompt from a file; an empty file removes it."""
    text = read_text(source, "FILE").strip()
    runner.call(lambda c: c.set_chat_system_prompt(text))
    output.message(fmt, "System prompt updated." if text else "System prompt removed.", chars=len(text))
