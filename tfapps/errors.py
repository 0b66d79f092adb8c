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
