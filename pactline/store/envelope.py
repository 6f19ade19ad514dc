"""Streaming AES-256-GCM envelope encryption for files that are not Parquet (partner CSVs, JSON
reports, model bytes), with random access so a Parquet file inside an envelope stays readable.

Format (all integers big-endian):

    header  = MAGIC (8) | len(version_id) (2) | version_id (utf-8) | salt (16)
    chunk i = AES-256-GCM(file_key, nonce = i as 12 bytes, plaintext[i*CHUNK : (i+1)*CHUNK],
                          associated data = header | i (8) | final flag (1))

    file_key = HKDF-SHA256(version data key, salt, info="pactline-envelope/v1")

Every chunk but the last holds exactly CHUNK plaintext bytes; the last holds 0..CHUNK and is the
only one sealed with final = 1. A fresh salt per file gives a fresh file key, so counter nonces
never repeat under one key. Binding the index and the final flag into every tag detects chunks
reordered, dropped or appended, and a file cut at a chunk boundary (its new last chunk was sealed
as not final). The header is bound too, so an envelope cannot be relabelled as another version's.
"""

from __future__ import annotations

import hashlib
import io
import os
import struct
from collections.abc import Callable
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from pactline.store.errors import TamperedDataError

MAGIC = b"PLENV\x00\x01\n"
CHUNK = 1 << 20
TAG = 16
SALT = 16
_INFO = b"pactline-envelope/v1"

KeyLookup = Callable[[str], bytes]


def is_envelope(head: bytes) -> bool:
    return head[: len(MAGIC)] == MAGIC


def _file_key(data_key: bytes, salt: bytes) -> AESGCM:
    return AESGCM(HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO).derive(data_key))


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">QB", index, 1 if final else 0)


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


class EnvelopeWriter(io.RawIOBase):
    """A write-only stream: plaintext in, envelope out to `sink`. close() seals the final chunk."""

    def __init__(self, sink: IO[bytes] | Any, version_id: str, data_key: bytes, chunk_size: int = CHUNK):
        super().__init__()
        vid = version_id.encode("utf-8")
        salt = os.urandom(SALT)
        self.header = MAGIC + struct.pack(">H", len(vid)) + vid + salt
        self._aead = _file_key(data_key, salt)
        self._sink = sink
        self._buf = bytearray()
        self._index = 0
        self._chunk = chunk_size
        self.plaintext_sha256 = hashlib.sha256()
        self.plaintext_bytes = 0
        sink.write(self.header)

    def writable(self) -> bool:
        return True

    def tell(self) -> int:  # of the plaintext, which is what writers such as pyarrow's count
        return self.plaintext_bytes

    def write(self, data: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed envelope")
        view = memoryview(data).cast("B")
        self.plaintext_sha256.update(view)
        self.plaintext_bytes += len(view)
        self._buf += view
        # keep at least one byte back: the final chunk must never be empty unless the file is
        while len(self._buf) > self._chunk:
            self._seal(bytes(self._buf[: self._chunk]), final=False)
            del self._buf[: self._chunk]
        return len(view)

    def _seal(self, plain: bytes, final: bool) -> None:
        self._sink.write(self._aead.encrypt(_nonce(self._index), plain, _aad(self.header, self._index, final)))
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            self._seal(bytes(self._buf), final=True)
            self._buf.clear()
        super().close()


class EnvelopeReader(io.RawIOBase):
    """A seekable, read-only view of the plaintext of an envelope held in `source` (seekable)."""

    def __init__(self, source: IO[bytes] | Any, keys: KeyLookup, name: str = "file", chunk_size: int = CHUNK):
        super().__init__()
        self._src = source
        self.name = name
        source.seek(0)
        head = source.read(len(MAGIC) + 2)
        if len(head) < len(MAGIC) + 2 or not is_envelope(head):
            raise TamperedDataError(f"{name}: not a Pactline envelope (header missing or damaged)")
        (n,) = struct.unpack(">H", head[len(MAGIC):])
        rest = source.read(n + SALT)
        if len(rest) != n + SALT:
            raise TamperedDataError(f"{name}: envelope header is truncated")
        self.header = head + rest
        try:
            self.version_id = rest[:n].decode("utf-8")
        except UnicodeDecodeError:
            raise TamperedDataError(f"{name}: envelope header is damaged") from None
        self._aead = _file_key(keys(self.version_id), rest[n:])
        self._chunk = chunk_size
        body = source.seek(0, io.SEEK_END) - len(self.header)
        full, rem = divmod(body, chunk_size + TAG)
        if rem == 0 and full > 0:
            self._count, last_plain = full, chunk_size
        elif rem >= TAG:
            self._count, last_plain = full + 1, rem - TAG
        else:
            raise TamperedDataError(f"{name}: encrypted file is truncated (ends inside a chunk tag)")
        self.size = (self._count - 1) * chunk_size + last_plain
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _open_chunk(self, index: int) -> bytes:
        if self._cached is not None and self._cached[0] == index:
            return self._cached[1]
        self._src.seek(len(self.header) + index * (self._chunk + TAG))
        final = index == self._count - 1
        sealed = self._src.read(self._chunk + TAG)
        try:
            plain = self._aead.decrypt(_nonce(index), sealed, _aad(self.header, index, final))
        except InvalidTag:
            raise TamperedDataError(
                f"{self.name}: chunk {index} of {self._count} does not authenticate: the encrypted file was "
                "truncated, reordered or altered"
            ) from None
        self._cached = (index, plain)
        return plain

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        parts = []
        while self._pos < end:
            index, offset = divmod(self._pos, self._chunk)
            chunk = self._open_chunk(index)
            piece = chunk[offset: offset + (end - self._pos)]
            if not piece:  # a chunk shorter than its position says: only a damaged file does that
                raise TamperedDataError(f"{self.name}: chunk {index} is shorter than expected")
            parts.append(piece)
            self._pos += len(piece)
        return b"".join(parts)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._cached = None
            self._src.close()
        super().close()


def seal_bytes(data: bytes, version_id: str, data_key: bytes, chunk_size: int = CHUNK) -> bytes:
    out = io.BytesIO()
    with EnvelopeWriter(out, version_id, data_key, chunk_size) as w:
        w.write(data)
    return out.getvalue()


def open_bytes(data: bytes, keys: KeyLookup, name: str = "bytes", chunk_size: int = CHUNK) -> bytes:
    with EnvelopeReader(io.BytesIO(data), keys, name, chunk_size) as r:
        return r.read()
