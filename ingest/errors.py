"""Errors of reading a report; the message is the one-line reason shown to the user."""


class ReportReadError(Exception):
    """A file could not be read as a report (the message says why, in one line)."""


class IngestCancelled(Exception):
    """An admin cancelled a running ingest; nothing of it was written (the message says when: "while …")."""
