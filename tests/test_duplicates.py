"""Identical examples never straddle splits (`tfapps.data.duplicates`): photos saved three
times, texts posted twice, table rows written twice and TFDS examples, within and across
classes and given splits; copies under other labels left out and named; the carving
unchanged when nothing is written twice; table rows of few values equal by chance kept as
separate rows."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import write_png_folder

from tfapps.data.duplicates import POOL, TEST, VALIDATION, find_duplicates, frame_keys
from tfapps.data.row_copies import CHANCE_MATCHES, chance_matches, row_duplicates
from tfapps.data.stratify import stratified_groups, stratified_rows
from tfapps.errors import InvalidInput
from tfapps.tasks.image import ImageClassifyConfig
from tfapps.tasks.table_classification import TableClassifyConfig, TableClassifyTask
from tfapps.tasks.table_regression import RegressConfig
from tfapps.tasks.text import SentimentConfig


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


def _split_of_each(splits, key=lambda x: x.tobytes()) -> dict:
    """`{example content: set of splits it is in}`."""
    where: dict = {}
    for name in ("train", "validation", "test"):
        for example, _ in getattr(splits, name).as_numpy_iterator():
            where.setdefault(key(example), set()).add(name)
    return where


def _saved_three_times(root: Path, classes: dict[str, int]) -> Path:
    """`IMG_0001.png`, `IMG_0001 (1).png`, `copy_IMG_0001.png` for each picture."""
    write_png_folder(root, classes, size=(8, 8))
    for folder in root.iterdir():
        for index, path in enumerate(sorted(folder.iterdir())):
            name = f"IMG_{index:04d}"
            path.rename(folder / f"{name}.png")
            shutil.copy(folder / f"{name}.png", folder / f"{name} (1).png")
            shutil.copy(folder / f"{name}.png", folder / f"copy_{name}.png")
    return root


def test_groups_conflicts_and_copies_of_a_later_given_split():
    keys = np.array([b"a", b"b", b"a", b"c", b"c", b"d", b"d", b"e"])
    labels = np.array([0, 1, 0, 0, 1, 1, 1, 0])
    given = np.array([POOL, POOL, POOL, POOL, POOL, POOL, TEST, VALIDATION])
    found = find_duplicates(keys, labels, given)
    assert found.group[0] == found.group[2] != found.group[1]
    assert found.conflicting.tolist() == [0, 0, 0, 1, 1, 0, 0, 0]  # c under labels 0 and 1
    assert found.earlier_copy.tolist() == [0, 0, 0, 0, 0, 1, 0, 0]  # d's pool copy; test kept
    assert found.representatives.tolist() == [0, 1, 6, 7]
    np.testing.assert_array_equal(found.expand({"x": np.array([0, 2])})["x"], [0, 2, 6])
    regression = find_duplicates(keys, None, given)
    assert not regression.conflicting.any() and regression.earlier_copy.sum() == 1


@pytest.mark.parametrize("seed", range(5))
def test_the_carving_is_unchanged_when_nothing_is_written_twice(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, 300)
    unique = find_duplicates(np.arange(300), labels)
    grouped, small = stratified_groups(labels, unique, seed, 0.1)
    plain, plain_small = stratified_rows(labels, seed, 0.1)
    assert small == plain_small
    for split in plain:
        np.testing.assert_array_equal(grouped[split], plain[split])


@pytest.mark.parametrize("seed", range(5))
def test_every_copy_goes_where_its_group_goes_and_classes_stay_stratified(seed):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, 120, 400)  # 400 examples, about 120 distinct
    labels = groups % 3  # a group's copies share its label
    rows, _ = stratified_groups(labels, find_duplicates(groups, labels), seed, 0.2)
    split_of = {}
    for split, chosen in rows.items():
        for row in chosen:
            assert split_of.setdefault(groups[row], split) == split
    assert sum(len(chosen) for chosen in rows.values()) == 400
    for label in range(3):
        distinct = len(set(groups[labels == label]))
        test = len(set(groups[rows["test"]][labels[rows["test"]] == label]))
        assert abs(test - 0.2 * distinct) <= 1


def test_a_photo_saved_three_times_stays_in_one_split(tmp_path, caplog):
    root = _saved_three_times(tmp_path / "photos", {"a": 15, "b": 15})
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(ImageClassifyConfig(dataset=str(root), quiet=True))
    where = _split_of_each(splits)
    assert len(where) == 30 and all(len(found) == 1 for found in where.values())
    assert sum(splits.info.sizes.values()) == 90
    assert splits.info.sizes["test"] == 18  # 20% of each class's 15 pictures, 3 copies each
    facts = splits.info.summary.facts["duplicates"]
    assert facts["copies"] == 60 and facts["written_more_than_once"] == 30
    assert "60 copies of 30 images written more than once (e.g. " in caplog.text
    shown = re.search(r"\(e\.g\. (.*)\): each image", caplog.text).group(1)
    stem = Path(shown.split(" = ")[0]).name.removesuffix(" (1).png")
    assert shown.count(" = ") == 2 and f"copy_{stem}.png" in shown and f"/{stem}.png" in shown


def test_copies_under_two_classes_are_left_out_and_named(tmp_path, caplog):
    root = write_png_folder(tmp_path / "photos", {"cat": 10, "dog": 10}, size=(8, 8))
    shutil.copy(root / "cat" / "3.png", root / "dog" / "looks_like_a_dog.png")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(ImageClassifyConfig(dataset=str(root), quiet=True))
    assert sum(splits.info.sizes.values()) == 19
    assert splits.info.summary.facts["duplicates"]["left_out_with_other_labels"] == 2
    assert "left out 2 images whose copies carry different labels" in caplog.text
    assert "cat/3.png (cat) = " in caplog.text and "looks_like_a_dog.png (dog)" in caplog.text


def test_a_class_made_only_of_copies_of_another_is_refused(tmp_path):
    root = write_png_folder(tmp_path / "photos", {"cat": 6, "dog": 6}, size=(8, 8))
    shutil.rmtree(root / "dog")
    shutil.copytree(root / "cat", root / "dog")
    with pytest.raises(InvalidInput, match="Every image of class 'cat' has a copy under another"):
        _load(ImageClassifyConfig(dataset=str(root), quiet=True))


def test_a_training_copy_of_a_given_test_image_is_left_out(tmp_path, caplog):
    root = tmp_path / "data"
    write_png_folder(root / "train", {"a": 10, "b": 10}, size=(8, 8))
    write_png_folder(root / "test", {"a": 3, "b": 3}, size=(8, 8), seed=1)
    shutil.copy(root / "test" / "a" / "0.png", root / "train" / "a" / "leaked.png")
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(ImageClassifyConfig(dataset=str(root), quiet=True))
    assert splits.info.sizes["test"] == 6  # the given test split, as given
    assert splits.info.sizes["train"] + splits.info.sizes["validation"] == 20
    assert all(len(found) == 1 for found in _split_of_each(splits).values())
    assert "left out 1 image already in a given validation or test split (1 from train" in (
        caplog.text
    )


@pytest.mark.slow
def test_identical_texts_stay_in_one_split_and_conflicting_ones_are_left_out(tmp_path, caplog):
    rows = [
        (f"review number {i} {'good' if i % 2 else 'bad'}", "pos" if i % 2 else "neg")
        for i in range(40)
    ]
    rows += rows[:20]  # 20 reviews posted twice
    rows += [("  review number 0 bad  ", "pos")]  # a copy (once stripped) under another label
    table = pd.DataFrame(rows, columns=["text", "label"])
    table.to_csv(tmp_path / "reviews.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(SentimentConfig(dataset=str(tmp_path / "reviews.csv"), quiet=True))
    where = _split_of_each(splits, key=lambda text: text.decode().strip())
    assert len(where) == 39 and all(len(found) == 1 for found in where.values())
    assert sum(splits.info.sizes.values()) == 58
    assert "left out 3 texts whose copies carry different labels" in caplog.text
    assert "row 1 (neg) = row 61 (pos): 'review number 0 bad'" in caplog.text


@pytest.mark.slow
def test_identical_text_files_stay_in_one_split(tmp_path):
    root = tmp_path / "texts"
    for label in ("neg", "pos"):
        (root / label).mkdir(parents=True)
        for i in range(12):
            text = f"{label} review {i}"
            for copy in ("", " (1)"):
                (root / label / f"{i}{copy}.txt").write_text(text)
    splits = _load(SentimentConfig(dataset=str(root), quiet=True))
    assert all(len(found) == 1 for found in _split_of_each(splits, bytes).values())
    assert splits.info.summary.facts["duplicates"]["copies"] == 24


def _table_rows(rows: int = 60, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 10, rows).round(3)
    return pd.DataFrame({"x": x, "kind": rng.choice(["a", "b"], rows), "y": 2 * x + 1})


def test_table_rows_written_twice_stay_in_one_split(tmp_path, caplog):
    table = _table_rows()
    noisy = table.iloc[:5].assign(y=lambda d: d["y"] + 1)  # same features, another price
    pd.concat([table, table.iloc[:30], noisy]).to_csv(tmp_path / "t.csv", index=False)
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(RegressConfig(dataset=str(tmp_path / "t.csv"), target="y", quiet=True))
    where: dict = {}
    for split in ("train", "validation", "test"):
        for features, target in getattr(splits, split).as_numpy_iterator():
            key = (round(float(features["x"]), 3), features["kind"], round(float(target), 3))
            where.setdefault(key, set()).add(split)
    assert all(len(found) == 1 for found in where.values())
    assert sum(splits.info.sizes.values()) == 95  # regression: nothing left out
    assert "30 copies of 30 rows written more than once" in caplog.text
    assert "different labels" not in caplog.text


def test_table_rows_with_the_same_features_under_two_classes_are_left_out(tmp_path):
    from tfapps.data.tables import from_path

    table = _table_rows().assign(y=lambda d: (d["x"] > 5).astype(int))
    table.loc[len(table)] = [table["x"][0], table["kind"][0], 1 - table["y"][0]]
    table.to_csv(tmp_path / "t.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "t.csv"), target="y", quiet=True)
    splits = from_path(tmp_path / "t.csv", config, TableClassifyTask.target_rule)
    assert splits.info.summary.facts["duplicates"]["left_out_with_other_labels"] == 2
    assert any("e.g. row 1 = row 61" in w for w in splits.info.summary.warnings)


def test_table_duplicates_ignore_dropped_columns_and_missing_targets():
    frame = pd.DataFrame(
        {
            "id": ["1", "2", "3", "4", "5", "6"],
            "x": ["5", "5", "5", "5", "6", "7"],
            "y": ["a", "A ", "b", "NA", "a", "b"],
        }
    )
    found = row_duplicates(frame, "y", ["x"], True, ("na",), str)
    assert found.group[0] == found.group[1]  # 'a' and 'A ' are one class
    assert found.conflicting.tolist() == [True, True, True, False, False, False]  # NA: apart
    assert not found.by_chance.any()  # no row with a class holds x 5 besides the three
    exact = row_duplicates(frame, "y", ["x"], False, ("na",), str)
    assert len(set(exact.group.tolist())) == 6


def test_chance_matches_by_hand():
    frame = pd.DataFrame(
        {
            "a": ["x", "x", "x", "y", "x", "z"],
            "b": ["p", "p", "q", "p", "r", "p"],
            "gap": [None, None, None, "1", "2", "3"],  # a missing cell is a value
            "weight": ["1.5", "1.5", "2", "3", "4", "5"],
        }
    )
    group = find_duplicates(frame_keys(frame)).group
    assert group[0] == group[1] and len(set(group.tolist())) == 5
    # rows 0 and 1 (m = 2 of n = 6): of the 4 other rows, 2 hold x and 2 hold p
    np.testing.assert_allclose(chance_matches(frame[["a", "b"]], group), [1, 1, 0, 0, 0, 0])
    # ... and 1 of them a missing gap: 4 * 2/4 * 2/4 * 1/4
    np.testing.assert_allclose(chance_matches(frame[["a", "b", "gap"]], group)[:2], 0.25)
    # ... and none weighs 1.5: a measurement written twice is a copy
    assert not chance_matches(frame, group).any()
    # only rows 0-4 counted: of the 3 others, 2 hold x and 1 holds p: 3 * 2/3 * 1/3
    counted = np.arange(6) < 5
    np.testing.assert_allclose(chance_matches(frame[["a", "b"]], group, counted)[:2], 2 / 3)
    assert CHANCE_MATCHES <= 2 / 3


def _few_values(rows: int = 300, ages: int = 0, seed: int = 11) -> pd.DataFrame:
    """Passengers of a sex, a class and (with `ages`) an age in years, and whether they
    survived: different people with the same answers, as a table of few values holds."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({"sex": rng.choice(["male", "female"], rows)})
    table["pclass"] = rng.integers(1, 4, rows)
    if ages:
        table["age"] = rng.integers(1, ages + 1, rows)
    female = table["sex"] == "female"
    table["survived"] = (rng.random(rows) < np.where(female, 0.75, 0.2)).astype(int)
    return table


def test_rows_alike_in_columns_of_few_values_are_kept_as_separate_rows(tmp_path):
    _few_values().to_csv(tmp_path / "t.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "t.csv"), target="survived", quiet=True)
    splits = _load(config)
    assert sum(splits.info.sizes.values()) == 300  # no row left out
    facts = splits.info.summary.facts["duplicates"]
    assert facts["equal_by_chance"] == 300 and facts["copies"] == 0
    assert facts["left_out_with_other_labels"] == 0
    assert not any("copies" in warning for warning in splits.info.summary.warnings)
    assert (
        "300 rows equal another row in every feature; with columns of few values that is "
        "expected, so they are kept as separate rows"
    ) in splits.info.summary.lines
    sizes = splits.info.sizes  # carved as 300 rows (stratified), not as 12 groups
    assert sizes["test"] == 60 and sizes["validation"] == 24  # 20%, then 10% of the rest


def test_rows_alike_with_an_age_are_not_left_out(tmp_path):
    table = _few_values(ages=20, seed=12)
    table.to_csv(tmp_path / "t.csv", index=False)
    features = ["sex", "pclass", "age"]
    assert (table.groupby(features)["survived"].transform("nunique") > 1).sum() > 100
    config = TableClassifyConfig(dataset=str(tmp_path / "t.csv"), target="survived", quiet=True)
    splits = _load(config)
    assert sum(splits.info.sizes.values()) == 300
    assert splits.info.summary.facts["duplicates"]["left_out_with_other_labels"] == 0


def test_whole_rows_alike_in_columns_of_few_values_are_not_grouped_for_regress(tmp_path):
    table = _few_values().assign(fare=lambda d: 10 * d["pclass"] + (d["sex"] == "male"))
    table.to_csv(tmp_path / "t.csv", index=False)
    splits = _load(RegressConfig(dataset=str(tmp_path / "t.csv"), target="fare", quiet=True))
    assert sum(splits.info.sizes.values()) == 300
    assert splits.info.sizes["test"] == 60  # 20% of 300 rows, not of 12 distinct rows
    facts = splits.info.summary.facts["duplicates"]
    assert facts["copies"] == 0 and facts["equal_by_chance"] == 300
    assert splits.info.summary.lines[-1].startswith(
        "300 rows equal another row in every feature and the target;"
    )


def test_a_rich_table_keeps_copies_together_and_leaves_out_contradictions(tmp_path):
    table = _table_rows().assign(y=lambda d: (d["x"] > 5).astype(int))
    thrice, contradicted = table.iloc[[0, 0]], table.iloc[[1]].assign(y=lambda d: 1 - d["y"])
    pd.concat([table, thrice, contradicted]).to_csv(tmp_path / "t.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "t.csv"), target="y", quiet=True)
    splits = _load(config)
    assert sum(splits.info.sizes.values()) == 61  # 63 rows, both copies of row 2 left out
    where = {}
    for split in ("train", "validation", "test"):
        for features, _ in getattr(splits, split).as_numpy_iterator():
            where.setdefault(round(float(features["x"]), 3), []).append(split)
    assert len(set(where[table["x"][0]])) == 1 and len(where[table["x"][0]]) == 3
    assert table["x"][1] not in where
    summary = splits.info.summary
    assert summary.facts["duplicates"] == {
        "copies": 3,
        "written_more_than_once": 2,
        "left_out_as_earlier_copies": 0,
        "left_out_with_other_labels": 2,
        "equal_by_chance": 0,
    }
    warnings = " | ".join(summary.warnings)
    assert "2 copies of 1 row written more than once (e.g. row 1 = row 61 = row 62)" in warnings
    assert "left out 2 rows whose copies carry different labels" in warnings
    assert "(1 row written under more than one label, e.g. row 2 = row 63)" in warnings
    assert not any("equal another row" in line for line in summary.lines)


def test_a_class_whose_every_row_is_contradicted_is_refused_as_copies(tmp_path):
    table = _table_rows().assign(y="b")
    contradicted = table.iloc[:10].assign(y="a")  # every 'a' row is a 'b' row's twin
    pd.concat([table, contradicted]).to_csv(tmp_path / "t.csv", index=False)
    config = TableClassifyConfig(dataset=str(tmp_path / "t.csv"), target="y", quiet=True)
    with pytest.raises(InvalidInput) as refused:
        _load(config)
    message = str(refused.value)
    assert "Every row of class 'a' has a copy under another class (e.g. row 61 = row 1)" in message
    assert "left out as copies with other labels" in message and "has no values" not in message


TFDS_ROWS = {
    "train": [(f"text {i}", i % 2) for i in range(40)]
    + [(f"text {i}", i % 2) for i in range(10)]  # 10 copies within train
    + [("text 1 ", 0), ("shared", 1)],  # a copy under the other label; a copy of a test text
    "test": [(f"test text {i}", i % 2) for i in range(10)] + [("shared", 1)],
}


def _copies_dataset(self, split, decoders=None, read_config=None, **kwargs):
    import tensorflow as tf

    texts, labels = zip(*TFDS_ROWS[str(split).split("[")[0]], strict=True)
    return tf.data.Dataset.from_tensor_slices(
        {"text": list(texts), "label": np.array(labels, np.int64)}
    )


@pytest.mark.slow
def test_tfds_examples_copied_within_and_across_splits(tmp_path):
    import tensorflow_datasets as tfds

    from tfapps.data.summary import DataSummary
    from tfapps.data.tfds_source import read_classified_splits

    with tfds.testing.mock_data(as_dataset_fn=_copies_dataset):
        builder = tfds.builder("imdb_reviews", data_dir=str(tmp_path))
        carved = read_classified_splits(builder, 0.2)
        names = ("train", "validation", "test")
        found = {
            name: [text.decode() for text, _ in dataset.as_numpy_iterator()]
            for name, dataset in zip(names, carved.datasets, strict=True)
        }
    assert len(found["test"]) == 11  # the builder's own test split, as given
    assert len(found["train"]) + len(found["validation"]) == 52 - 3 - 1  # text 1 ×3, shared
    where: dict = {}
    for name, texts in found.items():
        for text in texts:
            where.setdefault(text.strip(), set()).add(name)
    assert all(len(splits) == 1 for splits in where.values()) and "text 1" not in where
    summary = DataSummary()
    carved.summarize(summary, "text")
    assert summary.facts["duplicates"] == {
        "copies": 12,
        "written_more_than_once": 11,
        "left_out_as_earlier_copies": 1,
        "left_out_with_other_labels": 3,
    }
    warnings = " | ".join(summary.warnings)
    assert "train example 51 = test example 10" in warnings
    assert "train example 1 (pos) = train example 50 (neg)" in warnings


@pytest.mark.slow
def test_embedded_digits_and_auto_mpg_keep_their_splits(data_dir):
    from tfapps.data.tfds_source import CARVE_SEED, embedded_builder, read_classified_splits
    from tfapps.tasks import get_task

    digits = {d.name: d for d in get_task("image-classify").embedded}["digits"]
    carved = read_classified_splits(embedded_builder(digits, data_dir), 0.1)
    assert not carved.duplicates.conflicting.any() and not carved.duplicates.earlier_copy.any()
    labels = carved.labels[: carved.sizes["train"]]
    plain, _ = stratified_rows(labels, CARVE_SEED, 0.1, test_fraction=0.0)
    np.testing.assert_array_equal(carved.train_labels, labels[plain["train"]])
    cars = _load(RegressConfig(dataset="auto_mpg", data_dir=data_dir, quiet=True))
    assert cars.info.summary.facts["duplicates"]["copies"] == 0
    assert sum(cars.info.sizes.values()) == 406 - cars.info.spec.rows_without_target
