"""reportqa: cited question answering over Chinese government work reports."""

from reportqa.version import __version__

__all__ = ["__version__"]
