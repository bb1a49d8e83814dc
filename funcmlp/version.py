"""The library's version, written into the files it saves."""

__version__ = "0.1.0"
