"""The network architectures of the real models, as numpy forward passes built from attnviz.layers and
attnviz.attention. A model of the registry (attnviz.models) pairs one with its weights and tokenizer."""
