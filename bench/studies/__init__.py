"""Finished one-off studies (not run by `make bench`); README.md says what each found."""
