"""Reading and writing ``.safetensors`` files without the safetensors package.

A file is an 8-byte little-endian header length, a JSON header
(``{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {...}}``),
then the raw little-endian data, offsets relative to its start. Reading maps the
file and copies one tensor at a time, so a checkpoint far larger than memory can
be loaded into a model tensor by tensor. A checkpoint may be split over several
files with an index (``*.safetensors.index.json``: ``{"weight_map": {name: file}}``).
"""
import json
import mmap
import os
import struct

import numpy as np
import torch

# safetensors dtype → (numpy storage dtype, torch dtype); bf16 is stored as int16 and reinterpreted.
DTYPES = {
    "F64": (np.float64, torch.float64),
    "F32": (np.float32, torch.float32),
    "F16": (np.float16, torch.float16),
    "BF16": (np.int16, torch.bfloat16),
    "I64": (np.int64, torch.int64),
    "I32": (np.int32, torch.int32),
    "I16": (np.int16, torch.int16),
    "I8": (np.int8, torch.int8),
    "U8": (np.uint8, torch.uint8),
    "BOOL": (np.bool_, torch.bool),
}
NAMES = {torch_dtype: name for name, (_, torch_dtype) in DTYPES.items()}

# A header larger than this is not a real checkpoint's (the published ones are a few hundred kB).
MAX_HEADER_BYTES = 100 * 1024 * 1024


class SafetensorsError(ValueError):
    """A file that is not a readable safetensors file; the message names the file and the problem."""


class SafetensorsFile:
    """One ``.safetensors`` file, mapped read-only; ``tensor(name)`` copies one tensor out."""

    def __init__(self, path):
        self.path = path
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            raw = f.read(8)
            if len(raw) < 8:
                raise SafetensorsError(f"{path}: too short to be a safetensors file")
            (length,) = struct.unpack("<Q", raw)
            if length > MAX_HEADER_BYTES or 8 + length > size:
                raise SafetensorsError(f"{path}: header length {length} does not fit the file ({size} bytes)")
            try:
                header = json.loads(f.read(length))
            except ValueError as err:
                raise SafetensorsError(f"{path}: the header is not JSON ({err})") from None
        if not isinstance(header, dict):
            raise SafetensorsError(f"{path}: the header is not a JSON object")
        self.metadata = header.pop("__metadata__", None) or {}
        self._base = 8 + length
        self._data_size = size - self._base
        self._entries = {}
        for name, entry in header.items():
            self._entries[name] = self._check(name, entry)
        self._file = open(path, "rb")
        self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ) if size > 0 else None

    def _check(self, name, entry):
        try:
            dtype, shape, (begin, end) = entry["dtype"], list(entry["shape"]), entry["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise SafetensorsError(f"{self.path}: tensor {name} has no dtype, shape and data_offsets") from None
        if dtype not in DTYPES:
            raise SafetensorsError(f"{self.path}: tensor {name} has dtype {dtype}, which this reader does not know")
        if not all(isinstance(d, int) and d >= 0 for d in shape):
            raise SafetensorsError(f"{self.path}: tensor {name} has shape {shape}")
        itemsize = np.dtype(DTYPES[dtype][0]).itemsize
        count = int(np.prod(shape, dtype=np.int64)) if shape else 1
        if not (0 <= begin <= end <= self._data_size) or end - begin != count * itemsize:
            raise SafetensorsError(f"{self.path}: tensor {name} ({dtype} {shape}) has offsets {begin}..{end} that do not fit it")
        return dtype, tuple(shape), begin, end

    def keys(self):
        return list(self._entries)

    def shape(self, name):
        return self._entries[name][1]

    def dtype(self, name):
        return DTYPES[self._entries[name][0]][1]

    def tensor(self, name):
        """A copy of one tensor, in its stored dtype."""
        dtype, shape, begin, end = self._entries[name]
        storage, torch_dtype = DTYPES[dtype]
        count = (end - begin) // np.dtype(storage).itemsize
        array = np.frombuffer(self._map, dtype=storage, count=count, offset=self._base + begin) if count else np.zeros(0, storage)
        out = torch.from_numpy(array.reshape(shape).copy())
        return out.view(torch_dtype) if dtype == "BF16" else out

    def close(self):
        if self._map is not None:
            self._map.close()
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_safetensors(path, tensors, metadata=None):
    """Writes ``{name: tensor}`` as one safetensors file (tensors in name order, header padded to 8 bytes)."""
    header, chunks, offset = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in NAMES:
            raise SafetensorsError(f"{name}: dtype {t.dtype} cannot be written")
        data = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for chunk in chunks:
            f.write(chunk)


def write_sharded(directory, stem, tensors, max_shard_bytes):
    """Writes ``tensors`` as ``<stem>-0000i-of-0000n.safetensors`` files of at most ``max_shard_bytes`` each
    (a tensor never spans two), plus ``<stem>.safetensors.index.json``; returns the file names."""
    shards, current, size = [], {}, 0
    for name in sorted(tensors):
        nbytes = tensors[name].numel() * tensors[name].element_size()
        if current and size + nbytes > max_shard_bytes:
            shards.append(current)
            current, size = {}, 0
        current[name] = tensors[name]
        size += nbytes
    if current:
        shards.append(current)
    files, weight_map, total = [], {}, 0
    for i, shard in enumerate(shards):
        file = f"{stem}-{i + 1:05d}-of-{len(shards):05d}.safetensors"
        write_safetensors(os.path.join(directory, file), shard, {"format": "pt"})
        files.append(file)
        for name, t in shard.items():
            weight_map[name] = file
            total += t.numel() * t.element_size()
    with open(os.path.join(directory, f"{stem}.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2, sort_keys=True)
        f.write("\n")
    return files
