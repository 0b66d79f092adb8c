"""Reads the `Args:` section of Keras-style docstrings, so each option is described once.

The run configs document their fields in their docstrings; `tfapps <command> --help` shows the
same sentences (`tfapps.cli.options`).
"""

from __future__ import annotations

import inspect
import re

_ENTRY = re.compile(r"^ {4}(\w+): (.*)$")
_DEFAULTS_TO = re.compile(r"\s*Defaults to (.+?)\.(?=\s|$)")


def args_section(docstring: str | None) -> dict[str, str]:
    """Returns each argument's description from a docstring's `Args:` section, on one line.

    Args:
        docstring: a docstring with an `Args:` section whose entries read `name: text`,
            indented by 4 spaces, continued on lines indented deeper.

    Returns:
        Argument name to its description, continuation lines joined with single spaces;
        empty when there is no `Args:` section.

    Example:

    >>> args_section('''Summary.
    ...
    ...     Args:
    ...         epochs: maximum number of epochs.
    ...             Defaults to 20.
    ...     ''')
    {'epochs': 'maximum number of epochs. Defaults to 20.'}
    """
    entries: dict[str, str] = {}
    current, inside = None, False
    for line in inspect.cleandoc(docstring or "").splitlines():
        if line.strip() == "Args:":
            inside = True
            continue
        if not inside or not line.strip():
            continue
        if not line.startswith(" "):  # the next section
            inside = False
            continue
        entry = _ENTRY.match(line)
        if entry:
            current = entry[1]
            entries[current] = entry[2].strip()
        elif current:
            entries[current] += " " + line.strip()
    return entries


def plain_help(description: str, default_shown: bool) -> str:
    """Turns a docstring description into command-line help text.

    Backticks and the quotes around single words go; the "Defaults to X." sentence is dropped
    when Click shows the default itself (`default_shown`), and becomes "Default: X." otherwise.

    Args:
        description: one entry of `args_section`.
        default_shown: whether the option's default is printed as `[default: ...]`.
    """
    text = re.sub(r'"([\w./-]*)"', r"\1", description.replace("`", ""))
    if default_shown:
        return _DEFAULTS_TO.sub("", text).strip()
    return _DEFAULTS_TO.sub(lambda match: f" Default: {match[1]}.", text).strip()
