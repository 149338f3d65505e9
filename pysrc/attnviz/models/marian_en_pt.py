"""Marian en→pt: see marian.py."""
from .marian import direction

_model = direction("en", "pt")
INFO, load, tokenize, files_needed, forward = _model.INFO, _model.load, _model.tokenize, _model.files_needed, _model.forward
mask_token, probe_tokens = _model.mask_token, _model.probe_tokens
