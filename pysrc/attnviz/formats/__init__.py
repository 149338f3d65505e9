"""Readers (and, for the tests, writers) of the weight-file formats real models come in."""
