"""`N_` marks a text for the message catalog where the core defines it (error templates, label tables); the chat
layer translates it where it is shown (`bot.chat.catalog`). The core itself never translates."""


def N_(message: str) -> str:
    return message
