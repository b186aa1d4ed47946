"""Why a round cannot start or go on."""


class RoundBusy(Exception):
    """Another round is queued or running; the message says which and what it is doing."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class RoundStopped(Exception):
    """Raised inside a stage when the round was cancelled or failed meanwhile."""
