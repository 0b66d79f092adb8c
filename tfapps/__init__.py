"""tfapps: train the classic Keras architectures on real data in one command.

Importing this package is cheap: TensorFlow is imported only when a command trains or loads a model.
"""

__version__ = "0.1.0"
