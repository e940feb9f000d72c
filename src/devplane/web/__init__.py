"""The browser UI: server-rendered pages beside `api`, calling the same services with the same
actor as the JSON routes (docs/decisions/0011-web-ui-stack.md)."""
