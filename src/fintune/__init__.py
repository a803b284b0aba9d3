"""fintune: fine-tune language models on financial text, measure them honestly, compare and serve them."""

__version__ = "0.1.0"
