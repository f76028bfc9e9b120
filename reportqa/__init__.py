"""reportqa: cited question answering over Chinese government work reports."""

from core.version import __version__

__all__ = ["__version__"]
