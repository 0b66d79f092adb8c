"""Errors that tfapps explains to its user in one line (no traceback unless `--debug`)."""

import click


class TfappsError(click.ClickException):
    """Base class of every error tfapps reports to its user as one line on stderr.

    Click prints `Error: <message>` and exits with `exit_code`.
    """

    exit_code = 1


class InvalidInput(TfappsError):
    """The user gave a value, a path or data that tfapps cannot use (exit status 2)."""

    exit_code = 2


class RunFailed(TfappsError):
    """A run started with valid input but could not finish (exit status 1)."""

    exit_code = 1


class Interrupted(TfappsError):
    """Training was stopped by Ctrl-C (exit status 130) or SIGTERM (143); its checkpoint is kept.

    Args:
        run_id: the interrupted run, which `--resume RUN_ID` continues.
        exit_code: 130 for SIGINT, 143 for SIGTERM.
    """

    def __init__(self, run_id: str, exit_code: int = 130) -> None:
        super().__init__(f"Interrupted; run {run_id} keeps its last finished epoch.")
        self.run_id = run_id
        self.exit_code = exit_code


class TerminationRequest(KeyboardInterrupt):
    """Raised by tfapps' SIGTERM handler so that training stops like on Ctrl-C."""
