"""Reads the tensors of a PyTorch `state_dict` file into NumPy arrays, without PyTorch.

A `.pth` file is a pickle, and a general `pickle.load` of a downloaded file runs whatever code
the file names. `RestrictedUnpickler` accepts only what a `state_dict` of tensors needs: the
`collections.OrderedDict` that holds it, `torch._utils._rebuild_tensor_v2` (answered by a
NumPy function of ours) and the typed storage classes (`torch.FloatStorage`, ...); anything
else is refused before it is looked up. Two containers are read, as `torch.load` writes them
(`torch/serialization.py`):

- the zip format (PyTorch >= 1.6): `<archive>/data.pkl`, each storage's bytes in
  `<archive>/data/<key>`;
- the legacy format (PyTorch < 1.6): five pickles in a row (magic number, protocol version,
  system info, the `state_dict`, the storage keys), then each storage as its element count
  (int64) and its bytes.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C  # torch/serialization.py MAGIC_NUMBER
LEGACY_PROTOCOL_VERSION = 1001
STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class TorchFileError(ValueError):
    """The file is not a PyTorch `state_dict` of tensors, or asks for anything else."""


@dataclass(frozen=True)
class _StorageType:
    dtype: type


@dataclass
class _Storage:
    dtype: type
    numel: int
    data: np.ndarray | None = None  # filled when the bytes are read
    root: _Storage | None = None  # a legacy view's storage, of which it holds numel from start
    start: int = 0


@dataclass(frozen=True)
class _Tensor:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def to_numpy(self) -> np.ndarray:
        """The tensor's elements as a new C-contiguous array, bounds checked."""
        storage = self.storage
        data = storage.data
        if storage.root is not None and storage.root.data is not None:
            data = storage.root.data[storage.start : storage.start + storage.numel]
        if data is None:
            raise TorchFileError("a tensor's storage has no data in the file")
        if any(size < 0 for size in self.shape) or any(step < 0 for step in self.stride):
            raise TorchFileError(f"a tensor has a negative size or stride: {self.shape}")
        steps = zip(self.shape, self.stride, strict=True)
        last = self.offset + sum((size - 1) * step for size, step in steps)
        if 0 in self.shape:
            return np.zeros(self.shape, data.dtype)
        if self.offset < 0 or last >= data.size:
            raise TorchFileError(f"a tensor reaches past its storage of {data.size} elements")
        itemsize = data.dtype.itemsize
        view = np.lib.stride_tricks.as_strided(
            data[self.offset :],
            shape=self.shape,
            strides=tuple(step * itemsize for step in self.stride),
            writeable=False,
        )
        return np.array(view, order="C")  # a copy (ascontiguousarray would make 0-d 1-d)


def _rebuild_tensor_v2(storage, storage_offset, size, stride, *_unused) -> _Tensor:
    """Stands in for `torch._utils._rebuild_tensor_v2` (requires_grad, hooks are ignored)."""
    if not isinstance(storage, _Storage):
        raise TorchFileError("a tensor is rebuilt from something other than a storage")
    if len(size) != len(stride):
        raise TorchFileError(f"a tensor has {len(size)} sizes but {len(stride)} strides")
    return _Tensor(storage, int(storage_offset), tuple(map(int, size)), tuple(map(int, stride)))


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that builds only tensors, storages and `OrderedDict`s.

    Args:
        file: the binary file to read.
        storage_bytes: a function of a storage key that returns its bytes (zip format), or
            `None` when the bytes follow the pickles (legacy format). Defaults to `None`.
    """

    def __init__(self, file, storage_bytes=None) -> None:
        super().__init__(file)
        self.storage_bytes = storage_bytes
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(STORAGE_DTYPES[name])
        raise TorchFileError(f"the file asks for {module}.{name}, which a state_dict never needs")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) in (5, 6) and pid[0] == "storage"):
            raise TorchFileError(f"unknown persistent id {pid!r:.80}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, _StorageType) or not isinstance(numel, int):
            raise TorchFileError(f"unknown storage {pid!r:.80}")
        storage = self.storages.get(str(key))
        if storage is None:
            storage = self.storages[str(key)] = _Storage(storage_type.dtype, numel)
            if self.storage_bytes is not None:
                raw = self.storage_bytes(str(key))
                storage.data = np.frombuffer(raw, storage.dtype, count=len(raw) // _size(storage))
        if view is None:
            return storage
        _view_key, start, size = view
        return _Storage(storage.dtype, int(size), root=storage, start=int(start))


def _size(storage: _Storage) -> int:
    return np.dtype(storage.dtype).itemsize


def _check_numel(storage: _Storage, data: np.ndarray, key: str) -> np.ndarray:
    if data.size != storage.numel:
        raise TorchFileError(f"storage {key} holds {data.size} elements, expected {storage.numel}")
    return data


def _read_zip(path: Path) -> object:
    with zipfile.ZipFile(path) as archive:
        names = [name for name in archive.namelist() if name.endswith("/data.pkl")]
        if len(names) != 1:
            raise TorchFileError(f"{path} is a zip file without one <archive>/data.pkl")
        prefix = names[0][: -len("data.pkl")]
        if archive.namelist().count(f"{prefix}byteorder") and (
            archive.read(f"{prefix}byteorder") != b"little"
        ):
            raise TorchFileError(f"{path} stores big-endian tensors")
        with archive.open(names[0]) as pickled:
            unpickler = RestrictedUnpickler(
                io.BytesIO(pickled.read()), lambda key: archive.read(f"{prefix}data/{key}")
            )
            state = unpickler.load()
        for key, storage in unpickler.storages.items():
            _check_numel(storage, storage.data, key)
    return state


def _read_legacy(path: Path) -> object:
    with open(path, "rb") as file:
        magic, protocol, system = (RestrictedUnpickler(file).load() for _ in range(3))
        if magic != LEGACY_MAGIC_NUMBER or protocol != LEGACY_PROTOCOL_VERSION:
            raise TorchFileError(f"{path} is neither a zip nor a legacy PyTorch file")
        if not (isinstance(system, dict) and system.get("little_endian", False)):
            raise TorchFileError(f"{path} stores big-endian tensors")
        unpickler = RestrictedUnpickler(file)
        state = unpickler.load()
        keys = RestrictedUnpickler(file).load()
        if not (isinstance(keys, list) and all(isinstance(key, str) for key in keys)):
            raise TorchFileError(f"{path} has no list of storage keys after its tensors")
        for key in keys:
            storage = unpickler.storages.get(key)
            if storage is None:
                raise TorchFileError(f"{path} has bytes for storage {key}, which no tensor uses")
            (numel,) = struct.unpack("<q", file.read(8))
            raw = file.read(numel * _size(storage))
            storage.data = _check_numel(storage, np.frombuffer(raw, storage.dtype), key)
    return state


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Reads a PyTorch `state_dict` file (`torch.save(model.state_dict(), path)`) without torch.

    Args:
        path: a `.pth`/`.pt` file in the zip or the legacy format.

    Returns:
        The tensors by their `state_dict` name, as C-contiguous NumPy arrays in the file's
        shapes and dtypes (PyTorch's layouts: convolution kernels `(out, in, height, width)`).

    Raises:
        TorchFileError: the file holds anything but tensors, or is not a PyTorch file.
        OSError: the file cannot be read.
    """
    path = Path(path)
    if tarfile.is_tarfile(path):
        raise TorchFileError(f"{path} is in the tar format of PyTorch < 0.4, which is not read")
    try:
        state = _read_zip(path) if zipfile.is_zipfile(path) else _read_legacy(path)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, struct.error) as e:
        if isinstance(e, TorchFileError):
            raise
        raise TorchFileError(f"{path} is not a PyTorch state_dict file ({e})") from e
    if not isinstance(state, dict):
        raise TorchFileError(f"{path} holds a {type(state).__name__}, not a state_dict")
    tensors = {}
    for name, value in state.items():
        if not isinstance(value, _Tensor):
            raise TorchFileError(f"{path}: {name} is a {type(value).__name__}, not a tensor")
        tensors[str(name)] = value.to_numpy()
    return tensors
