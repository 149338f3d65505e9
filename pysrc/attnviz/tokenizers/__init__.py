"""Tokenizers of the real models: text to vocabulary ids, each token with its span in the text."""
