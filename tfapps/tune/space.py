"""A task's search space: the knobs `Task.search_space` declares, as KerasTuner
hyperparameters, with the command line's `--space` applied.

A knob's default is the value the search starts from (the task's config), and its declared
values or range are widened to hold it, so the first trial (the defaults) is always the
config itself. `--space` replaces what the task declared: `NAME=VALUE` fixes the knob,
`NAME=LOW..HIGH` narrows a number (a range of an integer or real knob, or the numeric
choices inside it), `NAME=A,B,C` makes it a choice among those values.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tfapps.config import checks
from tfapps.tune.options import Override

if TYPE_CHECKING:
    import keras_tuner

    from tfapps.config import RunConfig

TRUE, FALSE = ("true", "yes", "on", "1"), ("false", "no", "off", "0")


@dataclass
class Knob:
    """One declared knob, for messages and run.json.

    Args:
        name: the knob's name (`--space NAME=...`).
        kind: `"choice"`, `"integer"`, `"number"` or `"boolean"`.
        start: the config's own value, which the task leaves in place.
        default: the first trial's value: `start`, or the value `--space` allows nearest
            to it.
        values: a choice's values, or `(low, high)` of a range.
        log: a number drawn on a log scale.
    """

    name: str
    kind: str
    start: Any
    default: Any
    values: tuple
    log: bool = False

    def describe(self) -> str:
        """`dropout: 0..0.6, default 0.5`."""
        if self.kind in ("choice", "boolean"):
            shown = _listed(self.values)
        else:
            shown = f"{_text(self.values[0])}..{_text(self.values[1])}" + (
                " (log)" if self.log else ""
            )
        return f"{self.name}: {shown}, default {_text(self.default)}"


class Space:
    """The knobs of one task, declared on KerasTuner's `HyperParameters`.

    Each method registers a knob (or reads a trial's value for it) and returns its value:
    the default when the knob is new, the trial's value otherwise (KerasTuner's
    `HyperParameters` semantics). A task changes an option only where `changed` says its
    knobs moved away from the config's values.

    Args:
        hp: the hyperparameters being declared, or a trial's.
        overrides: `--space`, knob name to its override (`TuneOptions.overrides`).
            Defaults to none.
    """

    def __init__(
        self, hp: keras_tuner.HyperParameters, overrides: dict[str, Override] | None = None
    ) -> None:
        self.hp = hp
        self.overrides = dict(overrides or {})
        self.knobs: dict[str, Knob] = {}
        self.values: dict[str, Any] = {}

    def choice(self, name: str, values: tuple, default: Any) -> Any:
        """A knob taking one of `values` (numbers or strings of `default`'s type)."""
        kind = type(default)
        values = tuple(kind(v) for v in values)
        values += () if default in values else (default,)
        if kind is not str:
            values = tuple(sorted(values))
        override = self.overrides.get(name)
        if override is not None and override.kind == "range":
            if kind is str:
                raise _refuse(override, f"one of {','.join(values)}")
            low, high = (float(v) for v in override.values)
            declared, values = values, tuple(v for v in values if low <= v <= high)
            if not values:
                raise _refuse(override, f"a range holding one of {_listed(declared)}")
        elif override is not None:
            values = tuple(_typed(override, text, kind, values) for text in override.values)
        knob = Knob(name, "choice", default, _inside(default, values), values)
        if len(set(values)) == 1:
            return self._declare(knob, self.hp.Fixed(name, values[0]))
        return self._declare(knob, self.hp.Choice(name, list(values), default=knob.default))

    def integer(self, name: str, low: int, high: int, default: int) -> int:
        """A whole number from `low` to `high` (widened to hold `default`)."""
        return self._range(name, "integer", low, high, int(default), log=False)

    def number(
        self, name: str, low: float, high: float, default: float, log: bool = False
    ) -> float:
        """A real number from `low` to `high` (widened to hold `default`), on a log scale
        when `log`."""
        return self._range(name, "number", low, high, float(default), log)

    def boolean(self, name: str, default: bool) -> bool:
        """A knob that is on or off."""
        values: tuple = (False, True)
        override = self.overrides.get(name)
        if override is not None and override.kind == "range":
            raise _refuse(override, "true or false")
        if override is not None:
            values = tuple(_typed(override, text, bool) for text in override.values)
        values = tuple(sorted(set(values)))
        knob = Knob(name, "boolean", default, _inside(default, values), values)
        if len(values) == 1:
            return self._declare(knob, self.hp.Fixed(name, values[0]))
        return self._declare(knob, self.hp.Boolean(name, default=knob.default))

    def _range(self, name: str, kind: str, low, high, default, log: bool):
        """An integer or real knob from `low` to `high`; `--space` may fix it, make it a
        choice, or give it another range."""
        number = type(default)
        low, high = min(number(low), default), max(number(high), default)
        override = self.overrides.get(name)
        if override is not None and override.kind != "range":
            return self.choice(name, (), default)
        if override is not None:
            low, high = (_typed(override, text, number) for text in override.values)
        log = log and low > 0
        knob = Knob(name, kind, default, min(max(default, low), high), (low, high), log)
        if low == high:
            return self._declare(knob, self.hp.Fixed(name, low))
        if kind == "integer":
            return self._declare(knob, self.hp.Int(name, low, high, default=knob.default))
        sampling = "log" if log else "linear"
        return self._declare(
            knob, self.hp.Float(name, low, high, sampling=sampling, default=knob.default)
        )

    def changed(self, *names: str) -> bool:
        """Whether any of the knobs `names` (declared) is away from the config's value."""
        return any(self.values[name] != self.knobs[name].start for name in names)

    def apply(self, config: RunConfig, knobs: dict[str, Any], derived: dict | None = None):
        """`config` with the options of `knobs` (named as their knob) whose knob moved away
        from the config's value, and the options of `derived` (computed by the task from
        knobs that moved). Building the new config validates it.

        Args:
            config: the options the search starts from.
            knobs: option name to the value of the knob of the same name.
            derived: option name to a value the task computed. Defaults to none.

        Raises:
            InvalidInput: a value the option does not take (from `--space`).
        """
        moved = {name: value for name, value in knobs.items() if self.changed(name)}
        return dataclasses.replace(config, **moved, **(derived or {}))

    def check_overrides(self, task: str) -> None:
        """Refuses `--space` names the task did not declare, listing its knobs.

        Raises:
            InvalidInput: naming the unknown knob.
        """
        for name, override in self.overrides.items():
            if name not in self.knobs:
                knobs = "; ".join(knob.describe() for knob in self.knobs.values())
                raise checks.invalid("space", f"a knob of {task} ({knobs})", override.text)

    def _declare(self, knob: Knob, value: Any) -> Any:
        self.knobs[knob.name] = knob
        self.values[knob.name] = value
        return value


def default_values(hp: keras_tuner.HyperParameters) -> dict[str, Any]:
    """Every knob of a declared space at its default."""
    import keras_tuner

    values = keras_tuner.HyperParameters()
    values.merge(hp.space)
    return dict(values.values)


def _typed(override: Override, text: str, kind: type, allowed: tuple = ()) -> Any:
    """`text` as a value of type `kind`; a string must be one of `allowed`.

    Raises:
        InvalidInput: naming the knob and what it takes.
    """
    try:
        if kind is bool:
            if text.lower() not in TRUE + FALSE:
                raise ValueError(text)
            return text.lower() in TRUE
        if kind in (int, float):
            value = kind(text)
            if not math.isfinite(value):
                raise ValueError(text)
            return value
    except ValueError:
        expected = {bool: "true or false", int: "integers", float: "numbers"}[kind]
        raise _refuse(override, expected) from None
    if text not in allowed:
        raise _refuse(override, f"one of {_listed(allowed)}")
    return text


def _refuse(override: Override, expected: str):
    return checks.invalid("space", f"{override.name} taking {expected}", override.text)


def _inside(default: Any, values: tuple) -> Any:
    """`default` when it is one of `values`, else the nearest number, or the first value."""
    if default in values:
        return default
    if isinstance(default, (int, float)) and not isinstance(default, bool):
        return min(values, key=lambda v: abs(v - default))
    return values[0]


def _listed(values: tuple) -> str:
    return ",".join(map(_text, values))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)
