"""Errors a caller caused; the API answers them as 4xx JSON, the CLI as a message and exit 1."""


class RequestError(Exception):
    """A request the service cannot serve as asked; `status` is its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
