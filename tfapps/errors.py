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


class Resumable(TfappsError):
    """A run stopped before the end and keeps its checkpoint; `--resume RUN_ID` continues it.

    Args:
        message: what happened.
        run_id: the stopped run.
        exit_code: the process's exit status.
    """

    def __init__(self, message: str, run_id: str, exit_code: int) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.exit_code = exit_code


class Interrupted(Resumable):
    """Training was stopped by Ctrl-C (exit status 130) or SIGTERM (143).

    Args:
        run_id: the interrupted run.
        exit_code: 130 for SIGINT, 143 for SIGTERM.
    """

    def __init__(self, run_id: str, exit_code: int = 130) -> None:
        super().__init__(
            f"Interrupted; run {run_id} keeps its last finished epoch.", run_id, exit_code
        )


class WorkerLost(Resumable):
    """Another worker of a multi-worker run stopped, so the chief cannot go on (exit status 1).

    Args:
        run_id: the chief's run.
        reason: TensorFlow's first line about the lost worker.
    """

    def __init__(self, run_id: str, reason: str) -> None:
        super().__init__(
            f"A worker of the cluster stopped ({reason}); run {run_id} keeps its last finished "
            "epoch. Start every worker again, each with its own TF_CONFIG.",
            run_id,
            1,
        )


class TerminationRequest(KeyboardInterrupt):
    """Raised by tfapps' SIGTERM handler so that training stops like on Ctrl-C."""
