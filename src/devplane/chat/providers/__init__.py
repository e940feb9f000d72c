"""Provider adapters: one module per wire format, all behind devplane.chat.provider.ModelClient."""
