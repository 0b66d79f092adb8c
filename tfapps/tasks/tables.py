"""What the table tasks share: reading a table with the task's target rule, the run's columns
for predict and serve, the ONNX part, and the check that other data has the same columns.

`TableTask` is a mixin for a table task's `Task` class; the task gives its `target_rule`
(`data.table_targets.TargetRule`) and its model.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    import keras
    import numpy as np

    from tfapps.config import RunConfig
    from tfapps.config.options import TableOptions
    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.data.table_targets import TargetRule
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord
    from tfapps.serving_requests import InputSpec
    from tfapps.tune.space import Space

TABLE_FORMATS = "a CSV file (, ; tab or | separated) with --target COLUMN"


class TableTask:
    """The table half of a table task (mix in before the `Task` base).

    Attributes:
        target_rule: how the task reads its target and carves a table's rows.
    """

    local_formats: ClassVar[str] = TABLE_FORMATS
    target_rule: ClassVar[TargetRule]

    def read_tfds(self, builder, source: str, config: TableOptions) -> Splits:
        from tfapps.data.tables import from_tfds

        return from_tfds(builder, source, config, self.rule_for(config))

    def read_path(self, path: Path, config: TableOptions) -> Splits:
        from tfapps.data.tables import from_path

        return from_path(path, config, self.rule_for(config))

    def rule_for(self, config: TableOptions) -> TargetRule:
        """The target rule of a run with these options. Defaults to `target_rule`."""
        return self.target_rule

    def read_inputs(self, record: RunRecord, input_names, inputs, text_per=None):
        """CSV files with the model's columns by name, read as training read the table."""
        from tfapps.tasks.table_inputs import table_inputs

        return table_inputs(record, input_names, inputs)

    def serving_aliases(self, record: RunRecord) -> dict[str, str]:
        """The columns' names in the CSV, besides their input names."""
        return {column.name: column.input for column in record.dataset.spec.columns}

    def serving_values(self, values: list, spec: InputSpec, record: RunRecord) -> np.ndarray:
        """A column's values: numbers or strings as the CSV held them, missing ones imputed."""
        from tfapps.tasks.table_inputs import served_column

        return served_column(values, spec.name, record.dataset.spec)

    def export_part(self, model: keras.Model, record: RunRecord, fmt: str) -> Part:
        """ONNX and LiteRT have no string ops (StringLookup, `tf.strings.strip`): they hold
        the encoded part (`table_model.encoded_part`); a SavedModel holds the whole model."""
        from tfapps.export_parts import STRING_PREPROCESSING, raw_part
        from tfapps.tasks.table_model import encoded_part

        if fmt in STRING_PREPROCESSING:
            return encoded_part(model, record, self.classifier)
        return raw_part(model, self.classifier)

    def load_model(self, path: Path) -> keras.Model:
        """Loads a run's model.keras with the table layers registered (`table_layers`)."""
        import tfapps.tasks.table_layers  # noqa: F401

        return super().load_model(path)

    def search_space(self, space: Space, config: RunConfig, info: DatasetInfo) -> RunConfig:
        """The hidden layers (1 to 4) and their units, dropout, batch normalization, the
        loss, batch size and learning rate: each knob of an option the task's config has
        (`hidden_units`, `dropout`, `batch_norm`, `loss` among its declared choices), so
        every table task searches the same way."""
        options = {field_.name: field_ for field_ in dataclasses.fields(config)}
        knobs, derived = {}, {}
        if "hidden_units" in options:
            hidden = config.hidden_units
            count = space.integer("layers", 1, 4, len(hidden))
            units = space.choice("units", (16, 32, 64, 128, 256), hidden[0])
            if space.changed("layers", "units"):
                derived["hidden_units"] = (units,) * count
        if "dropout" in options:
            knobs["dropout"] = space.number("dropout", 0.0, 0.5, config.dropout)
        if "batch_norm" in options:
            knobs["batch_norm"] = space.boolean("batch_norm", config.batch_norm)
        if options.get("loss") is not None and options["loss"].metadata.get("choices"):
            knobs["loss"] = space.choice("loss", options["loss"].metadata["choices"], config.loss)
        knobs["batch_size"] = space.choice("batch_size", (16, 32, 64, 128), config.batch_size)
        knobs["learning_rate"] = space.number(
            "learning_rate", 1e-4, 1e-2, config.learning_rate, log=True
        )
        return space.apply(config, knobs, derived)

    def check_fits(self, info: DatasetInfo, trained: DatasetInfo, dataset: str) -> None:
        """Refuses other feature columns (or kinds), and another target."""
        columns = {c.input: c.kind for c in trained.spec.columns}
        found = {c.input: c.kind for c in info.spec.columns}
        if columns != found:
            raise InvalidInput(
                f"{dataset!r} has the feature columns {sorted(found)}; the model "
                f"takes {sorted(columns)} with the same kinds."
            )
        if trained.spec.target != info.spec.target:
            raise InvalidInput(
                f"{dataset!r} predicts {info.spec.target!r}; the model "
                f"predicts {trained.spec.target!r}."
            )
