"""Config fields that are command-line options: type, default, range and help in one place.

A run config declares each option once, as `option(default, "help ...", ...)` (the way
Ludwig's schema carries type, range, default and description in one declaration). From that
declaration:

- `cli/options.py` makes the Click option (type and default from the field, choices and
  help from its metadata);
- `check_fields` validates a config's values (choices, integer minimums, rates);
- `documented` writes the class docstring's `Args:` section, Keras style, so `help()` shows
  the same sentences as `--help`.
"""

from __future__ import annotations

import dataclasses
import textwrap
from typing import Any

from tfapps.config import checks


def option(
    default: Any,
    help: str,
    *,
    automatic: str | None = None,
    choices: tuple[str, ...] | None = None,
    minimum: int | None = None,
    rate: bool = False,
    separator: str | None = None,
    example: str | None = None,
    repeated: bool = False,
) -> Any:
    """A dataclass field that is a command-line option of the same name.

    Args:
        default: the value when the option is not given (`None` for "automatic" or "none").
        help: what the option does, one or more sentences, without its default.
        automatic: for a `None` default that the run decides: how it decides, in words
            (`--help` shows "Default: automatic: ..."). Defaults to none.
        choices: the values accepted, for options that take one of a few names.
            Defaults to any value of the field's type.
        minimum: the smallest integer accepted (a `None` value is accepted when the default
            is `None`). Defaults to no minimum.
        rate: the value is a rate in [0, 1). Defaults to False.
        separator: for sequence options, the text between items on the command line
            (`","` unless given, `"x"` for `28x28`). Defaults to `","`.
        example: a value as typed, for error messages. Defaults to the default.
        repeated: for a tuple of strings that may hold commas themselves: each value is
            given as its own `--name VALUE` (the option is repeated) and is not split at
            commas. Defaults to False.

    Returns:
        A `dataclasses.field`.
    """
    metadata = {
        "help": help,
        "automatic": automatic,
        "choices": choices,
        "minimum": minimum,
        "rate": rate,
        "separator": separator or ",",
        "example": example,
        "repeated": repeated,
    }
    return dataclasses.field(default=default, metadata=metadata)


def option_name(field_: dataclasses.Field) -> str:
    """`batch-size` for the field `batch_size`."""
    return field_.name.replace("_", "-")


def to_argv(options: Any, skip: tuple[str, ...] = ()) -> list[str]:
    """The command-line options that rebuild a dataclass of options from its defaults.

    Only options that differ from their defaults are written; booleans as `--x` or `--no-x`,
    repeated options once per value, other sequences joined by the field's separator
    (`","`, or `"x"` for `image_size`).

    Args:
        options: a dataclass instance whose fields are declared with `option`.
        skip: names of fields never written. Defaults to none.
    """
    args = []
    for field_ in dataclasses.fields(options):
        value = getattr(options, field_.name)
        if field_.name in skip or _as_saved(value) == _as_saved(field_.default):
            continue
        flag = "--" + option_name(field_)
        if isinstance(value, bool):
            args.append(flag if value else "--no-" + flag[2:])
        elif isinstance(value, (tuple, list)) and field_.metadata.get("repeated"):
            args += [part for item in value for part in (flag, str(item))]
        elif isinstance(value, (tuple, list)):
            args += [flag, field_.metadata["separator"].join(map(str, value))]
        else:
            args += [flag, str(value)]
    return args


def _as_saved(value: Any) -> Any:
    """A value as run.json stores it (tuples become lists)."""
    return list(value) if isinstance(value, tuple) else value


def default_text(field_: dataclasses.Field) -> str:
    """The default in words, as the docstring and `--help` give it."""
    automatic = field_.metadata.get("automatic")
    if automatic:
        return f"automatic: {automatic}"
    value = field_.default
    if value is None or value == ():
        return "none"
    if isinstance(value, tuple):
        return field_.metadata["separator"].join(map(str, value))
    return repr(value) if isinstance(value, str) else str(value)


def check_fields(config: Any) -> None:
    """Validates every option's value against its declaration (choices, minimum, rate).

    Raises:
        InvalidInput: naming the first option whose value is not accepted.
    """
    for field_ in dataclasses.fields(config):
        if "help" not in field_.metadata:
            continue
        value, name = getattr(config, field_.name), option_name(field_)
        if value is None and field_.default is None:
            continue
        if field_.metadata["choices"]:
            checks.check_choice(value, name, field_.metadata["choices"])
        if field_.metadata["minimum"] is not None:
            checks.check_int(value, name, minimum=field_.metadata["minimum"])
        if field_.metadata["rate"]:
            checks.check_rate(value, name)


def documented(cls: type) -> type:
    """Class decorator: appends an `Args:` section built from the options' declarations
    (every field of the class and its bases, in order) to the class docstring."""
    lines = []
    for field_ in dataclasses.fields(cls):
        if "help" not in field_.metadata:
            continue
        entry = f"{field_.name}: {field_.metadata['help']} Defaults to {default_text(field_)}."
        lines += textwrap.wrap(entry, 88, initial_indent="    ", subsequent_indent="        ")
    cls.__doc__ = f"{(cls.__doc__ or '').rstrip()}\n\nArgs:\n" + "\n".join(lines) + "\n"
    return cls


def redefault(cls: type, name: str, default: Any, automatic: str | None = None) -> Any:
    """The option `name` of the config class `cls` with another default, for a task whose
    options differ from the shared ones only in their defaults.

    Args:
        cls: a config class that declares the option.
        name: the field's name.
        default: the new default.
        automatic: how a `None` default is decided, in words. Defaults to the declared one.

    Returns:
        A `dataclasses.field` with the declared help, choices and range.
    """
    metadata = dict(cls.__dataclass_fields__[name].metadata)
    if automatic is not None:
        metadata["automatic"] = automatic
    return dataclasses.field(default=default, metadata=metadata)
