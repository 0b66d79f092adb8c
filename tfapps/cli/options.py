"""What every command shares: Click settings, options built from the run configs, and the
mapping of tfapps' errors to Click's one-line `Error:` messages.

Each training option is a field of a run config, declared once with `config.fields.option`:
its type and default come from the field, its help, choices and separator from the
declaration.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import traceback
import types
import typing
from collections.abc import Callable, Iterator

import click

from tfapps.config import RunConfig
from tfapps.config.fields import default_text, option_name
from tfapps.errors import explain

CONTEXT_SETTINGS = {
    "help_option_names": ["-h", "--help"],
    "show_default": True,
    "max_content_width": 100,
}
RESUME_HELP = (
    "Continue an interrupted run of this task and dataset from its last finished epoch, with "
    "the same options (multi-worker: on every worker). `tfapps runs --incomplete` lists them. "
    "Default: a new run."
)


class LogToConsole(logging.Handler):
    """Prints tfapps' log records: warnings as `Warning: ...` on stderr, information (such as
    the data summary) as plain lines on stdout."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING:
            click.echo(f"Warning: {record.getMessage()}", err=True)
        else:
            click.echo(record.getMessage())


def route_logs(quiet: bool = True) -> None:
    """Sends the `tfapps` logger's records to the console once, and not on to the root logger
    (absl gives the root logger a handler of its own once TensorFlow logs); information is
    shown unless `quiet`, warnings always."""
    logger = logging.getLogger("tfapps")
    if not any(isinstance(h, LogToConsole) for h in logger.handlers):
        logger.addHandler(LogToConsole())
    logger.propagate = False
    logger.setLevel(logging.WARNING if quiet else logging.INFO)


@contextlib.contextmanager
def reporting_errors(debug: bool) -> Iterator[None]:
    """Turns failures into one `Error:` line on stderr; with `debug`, the traceback first.

    tfapps' own errors keep their exit status (2 for bad input); anything unexpected is
    explained by `errors.explain` and exits with status 1.
    """
    try:
        yield
    except click.ClickException:
        raise
    except Exception as error:
        if debug:
            traceback.print_exc()
        explained = explain(error)
        exception = click.ClickException(explained.message)
        exception.exit_code = explained.exit_code
        raise exception from None


def parse_ints(separator_: str, example: str) -> Callable:
    """A Click callback turning `"32,64"` (or `"28x28"`) into a tuple of ints."""

    def parse(ctx, param, value):
        if value is None or isinstance(value, tuple):
            return value
        try:
            return tuple(int(part) for part in value.lower().split(separator_))
        except ValueError:
            raise click.BadParameter(
                f"expected integers separated by {separator_!r}, such as "
                f"{example}. Received: {value!r}"
            ) from None

    return parse


def split_names(ctx, param, values) -> tuple[str, ...]:
    """A Click callback joining repeated, comma-separated names into one tuple."""
    return tuple(name.strip() for value in values for name in value.split(",") if name.strip())


def training_options(config_class: type[RunConfig], *extra: type) -> Callable:
    """Adds one option per field of `config_class` (and of each `extra` dataclass of
    options, such as `TuneOptions`), plus `--resume`.

    Types and defaults come from the fields, help and choices from their declarations.
    """
    from tfapps.tasks import get_task

    accepted = get_task(config_class.task).accepted()
    options = [
        _option(field_, hint, accepted)
        for cls in (config_class, *extra)
        for field_, hint in _fields_and_hints(cls)
    ]
    options.append(
        click.option("--resume", default=None, metavar="latest|RUN_ID", help=RESUME_HELP)
    )

    def decorate(command: Callable) -> Callable:
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _fields_and_hints(cls: type) -> list[tuple[dataclasses.Field, object]]:
    hints = typing.get_type_hints(cls)
    return [(field_, hints[field_.name]) for field_ in dataclasses.fields(cls)]


def _option(field_: dataclasses.Field, hint, accepted: str) -> Callable:
    """The Click option of one config field."""
    name = "--" + option_name(field_)
    default, metadata = field_.default, field_.metadata
    text = _plain(metadata["help"])
    text = text[:1].upper() + text[1:]
    if field_.name == "dataset":
        text += f" Accepted: {accepted}."
    settings = {"help": text, "default": default}
    if default is None:  # Click shows no default of None: say what happens instead
        said = metadata["automatic"] or default_text(field_)
        settings["help"] = f"{text} Default: {_plain(said)}."
        settings["show_default"] = "automatic" if metadata["automatic"] else "none"
    kind = _without_none(hint)
    if metadata["choices"]:
        return click.option(name, type=click.Choice(metadata["choices"]), **settings)
    if kind is bool:
        flag = name if default is False else f"{name}/--no-{name[2:]}"
        return click.option(flag, is_flag=True, **settings)
    if typing.get_origin(kind) is tuple:
        if metadata.get("repeated"):
            return click.option(name, multiple=True, help=text)
        if typing.get_args(kind)[0] is not int:
            return click.option(name, multiple=True, callback=split_names, help=text)
        joiner = metadata["separator"]
        example = metadata["example"] or joiner.join(map(str, default))
        settings["default"] = None if default is None else joiner.join(map(str, default))
        return click.option(name, callback=parse_ints(joiner, example), **settings)
    return click.option(name, type=kind, **settings)


def _plain(text: str) -> str:
    """Help text without Markdown backticks."""
    return text.replace("`", "")


def _without_none(hint):
    """`int | None` → `int`; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return hint
