"""Errors that tfapps explains to its user in one line (no traceback unless `--debug`).

They are plain exceptions carrying an exit status, usable from Python without Click;
`tfapps.cli` alone turns them into Click's `Error: <message>` line.
"""

from __future__ import annotations


class TfappsError(Exception):
    """Base class of every error tfapps reports to its user as one line on stderr.

    Args:
        message: the whole line, without the `Error: ` prefix.
        exit_code: the process's exit status. Defaults to the class's `exit_code`.
    """

    exit_code = 1

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message


class InvalidInput(TfappsError):
    """The user gave a value, a path or data that tfapps cannot use (exit status 2)."""

    exit_code = 2


class RunFailed(TfappsError):
    """A run started with valid input but could not finish (exit status 1)."""

    exit_code = 1


class Resumable(TfappsError):
    """A run stopped before the end and keeps its checkpoint; `resume_command` continues it.

    Args:
        what_happened: the first sentences of the message.
        run_id: the stopped run.
        resume_command: the shell command that continues the run.
        exit_code: the process's exit status.
    """

    def __init__(
        self, what_happened: str, run_id: str, resume_command: str, exit_code: int
    ) -> None:
        super().__init__(f"{what_happened} Resume with: {resume_command}", exit_code)
        self.run_id = run_id
        self.resume_command = resume_command


class Interrupted(Resumable):
    """Training was stopped by Ctrl-C (exit status 130) or SIGTERM (143).

    Args:
        run_id: the interrupted run.
        resume_command: the shell command that continues it.
        exit_code: 130 for SIGINT, 143 for SIGTERM. Defaults to 130.
    """

    def __init__(self, run_id: str, resume_command: str, exit_code: int = 130) -> None:
        super().__init__(
            f"Interrupted; run {run_id} keeps its last finished epoch.",
            run_id,
            resume_command,
            exit_code,
        )


class WorkerLost(Resumable):
    """Another worker of a multi-worker run stopped, so the chief cannot go on (exit status 1).

    Args:
        run_id: the chief's run.
        reason: TensorFlow's first line about the lost worker.
        resume_command: the shell command that continues the run on every worker.
    """

    def __init__(self, run_id: str, reason: str, resume_command: str) -> None:
        super().__init__(
            f"A worker of the cluster stopped ({reason}); run {run_id} keeps its last finished "
            "epoch. Start every worker again, each with its own TF_CONFIG.",
            run_id,
            resume_command,
            1,
        )


class TerminationRequest(KeyboardInterrupt):
    """Raised by tfapps' SIGTERM handler so that training stops like on Ctrl-C."""


def explain(error: Exception) -> TfappsError:
    """Returns the one-line `TfappsError` a failure is reported as.

    A `TfappsError` is returned as it is; a file-system error becomes a `RunFailed` naming the
    file and the reason; anything else a `RunFailed` with the exception's type and first line.

    Args:
        error: the exception raised by a command.
    """
    if isinstance(error, TfappsError):
        return error
    if isinstance(error, OSError):
        where = f" at {error.filename}" if error.filename else ""
        reason = " ".join(str(error.strerror or error).split())  # h5py's spans several lines
        return RunFailed(
            f"File system error{where}: {reason}. Finished runs are untouched; an unfinished "
            "one stays in its .incomplete directory."
        )
    lines = str(error).strip().splitlines()
    message = f"{type(error).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return RunFailed(f"{message} (rerun with --debug for the traceback)")
