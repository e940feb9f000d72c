"""MCP tool-result content blocks as the text and images a model API accepts.

MCP results carry text, image, audio, resource_link and embedded resource blocks. Both model APIs
take text and (base64) images in tool results; everything else becomes a short bracketed note, so
the model knows something was there without us inventing a format for it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from devplane.chat.provider import ToolResult

# The image types both APIs accept; another image type becomes a note, not a rejected request.
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class Image:
    mime_type: str
    data: str  # base64, as MCP carries it


def block_text(block: Mapping[str, Any]) -> str | None:
    """The text a non-image block stands for, or None for an image the API can take as one."""
    kind = block.get("type")
    if kind == "text":
        return str(block.get("text", ""))
    if kind == "image":
        if _image(block) is not None:
            return None
        return f"[image of type {block.get('mimeType', 'unknown')} omitted]"
    if kind == "resource":
        resource = block.get("resource")
        if isinstance(resource, Mapping):
            if isinstance(resource.get("text"), str):
                return str(resource["text"])
            return f"[binary resource {resource.get('uri', '')} ({resource.get('mimeType', 'unknown type')}) omitted]"
    if kind == "resource_link":
        return f"[resource link: {block.get('uri', '')}]"
    return f"[{kind or 'unknown'} content omitted]"


def _image(block: Mapping[str, Any]) -> Image | None:
    mime, data = block.get("mimeType"), block.get("data")
    if isinstance(mime, str) and mime in IMAGE_TYPES and isinstance(data, str) and data:
        return Image(mime_type=mime, data=data)
    return None


def images(blocks: Sequence[Mapping[str, Any]]) -> Iterator[Image]:
    for block in blocks:
        if block.get("type") == "image" and (image := _image(block)) is not None:
            yield image


def texts(blocks: Sequence[Mapping[str, Any]]) -> list[str]:
    return [text for block in blocks if (text := block_text(block)) is not None]


def result_text(result: ToolResult) -> str:
    """All of a result's non-image content as one string, for APIs whose tool results are text-only."""
    text = "\n".join(texts(result.content))
    if not text:
        text = "(no text content)" if result.content else "(no content)"
    return f"Error: {text}" if result.is_error else text
