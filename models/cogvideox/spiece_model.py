"""Reads a SentencePiece ``spiece.model`` (a serialized ``ModelProto``) without the protobuf package.

Only what a tokenizer conversion needs is decoded: the pieces (text, score, type),
the trainer's model type and special ids, and the normalizer (rule name, the
precompiled character map and its three whitespace switches). Field numbers are
those of sentencepiece's ``sentencepiece_model.proto``.
"""

import struct
from dataclasses import dataclass

# ModelProto.SentencePiece.Type
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 6, 5
# TrainerSpec.ModelType
UNIGRAM, BPE, WORD, CHAR = 1, 2, 3, 4


class SpieceError(ValueError):
    """The file is not a SentencePiece model this converter understands."""


@dataclass(frozen=True)
class Piece:
    text: str
    score: float
    type: int


@dataclass(frozen=True)
class SpieceModel:
    pieces: tuple
    model_type: int
    unk_id: int
    bos_id: int
    eos_id: int
    pad_id: int
    normalizer_name: str
    precompiled_charsmap: bytes
    add_dummy_prefix: bool
    remove_extra_whitespaces: bool
    escape_whitespaces: bool

    def piece_id(self, text):
        for i, p in enumerate(self.pieces):
            if p.text == text:
                return i
        raise KeyError(text)


def _varint(buf, i):
    value = shift = 0
    while True:
        if i >= len(buf):
            raise SpieceError("truncated varint")
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, i


def _fields(buf):
    """(field number, wire type, value) of one message; value is int for varints, bytes otherwise."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i:i + n], i + n
        else:
            raise SpieceError("unsupported protobuf wire type %d" % wire)
        if i > len(buf):
            raise SpieceError("truncated field %d" % number)
        yield number, wire, value


def _int32(v):
    """proto int32 fields arrive as 64-bit two's complement varints (-1 = 2**64 - 1)."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _piece(buf):
    text, score, kind = "", 0.0, NORMAL
    for number, _, value in _fields(buf):
        if number == 1:
            text = value.decode("utf-8")
        elif number == 2:
            (score,) = struct.unpack("<f", value)
        elif number == 3:
            kind = value
    return Piece(text, score, kind)


def parse_spiece(data):
    """Decode the bytes of a ``spiece.model``."""
    pieces = []
    # proto defaults (sentencepiece_model.proto)
    trainer = {"model_type": UNIGRAM, "unk_id": 0, "bos_id": 1, "eos_id": 2, "pad_id": -1}
    normalizer = {"name": "", "charsmap": b"", "dummy": True, "extra_ws": True, "escape_ws": True}
    for number, _, value in _fields(data):
        if number == 1:
            pieces.append(_piece(value))
        elif number == 2:
            for n, _, v in _fields(value):
                key = {3: "model_type", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}.get(n)
                if key:
                    trainer[key] = _int32(v)
        elif number == 3:
            for n, _, v in _fields(value):
                if n == 1:
                    normalizer["name"] = v.decode("utf-8")
                elif n == 2:
                    normalizer["charsmap"] = bytes(v)
                elif n in (3, 4, 5):
                    normalizer[{3: "dummy", 4: "extra_ws", 5: "escape_ws"}[n]] = bool(v)
    if not pieces:
        raise SpieceError("no pieces: not a SentencePiece model")
    return SpieceModel(
        pieces=tuple(pieces),
        model_type=trainer["model_type"],
        unk_id=trainer["unk_id"],
        bos_id=trainer["bos_id"],
        eos_id=trainer["eos_id"],
        pad_id=trainer["pad_id"],
        normalizer_name=normalizer["name"],
        precompiled_charsmap=normalizer["charsmap"],
        add_dummy_prefix=normalizer["dummy"],
        remove_extra_whitespaces=normalizer["extra_ws"],
        escape_whitespaces=normalizer["escape_ws"],
    )


def read_spiece(path):
    with open(path, "rb") as f:
        return parse_spiece(f.read())
