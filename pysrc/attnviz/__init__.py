"""attnviz: the attention mechanism in pure Python + numpy, for CPython and Pyodide."""
__version__ = "0.1.0"
