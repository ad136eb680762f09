"""Money is integer fen (分); these helpers only ever render it, never compute in float."""

from __future__ import annotations

FEN_PER_YUAN = 100


def fen_to_yuan_text(fen: int) -> str:
    """Render fen as yuan with exactly two decimals: 12345 → "123.45", -5 → "-0.05"."""
    if isinstance(fen, bool) or not isinstance(fen, int):
        raise TypeError("fen must be an int")
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), FEN_PER_YUAN)
    return f"{sign}{yuan}.{cents:02d}"
