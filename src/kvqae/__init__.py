"""kvqae: knowledge-based visual question answering about named entities."""

__version__ = "0.1.0"
