"""The data layer: turns a `--dataset` value into train/validation/test splits.

Only this package knows where bytes come from (embedded TFDS builders, the TFDS catalog, local
folders and files). Import `tfapps.data.load` for the entry point; `registry` is import-cheap.
"""
