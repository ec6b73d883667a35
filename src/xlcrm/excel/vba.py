"""A VBA project (``xl/vbaProject.bin``) with one module's source replaced.

A VBA project is an OLE compound file; each module's source is stored compressed with the
MS-OVBA algorithm, after an optional performance cache that the application recompiles when
the project's version says so. xlcrm starts from the project xlwings ships in its standalone
quickstart workbook (the xlwings VBA module included, saved source-only), replaces the source
of its ``Module1`` with the button procedures, and writes a new compound file. Only the
standard library is used; olefile (installed with the ``excel`` extra, beside xlwings) reads
the original.

References: [MS-OVBA] 2.4.1 (compression), 2.3.4 (dir stream); [MS-CFB] (compound files).
"""

from __future__ import annotations

import io
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["compress", "decompress", "module_source", "replace_module", "write_compound_file"]

_CHUNK = 4096


def decompress(data: bytes) -> bytes:
    """Decompress an MS-OVBA compressed container.

    Raises:
        ValueError: ``data`` is not a compressed container.
    """
    if not data or data[0] != 1:
        raise ValueError("not an MS-OVBA compressed container (signature byte is not 1)")
    out = bytearray()
    pos = 1
    while pos + 2 <= len(data):
        header = struct.unpack_from("<H", data, pos)[0]
        size = (header & 0x0FFF) + 3
        compressed = header & 0x8000
        chunk_end = min(pos + size, len(data))
        pos += 2
        start = len(out)
        if not compressed:
            out += data[pos:pos + _CHUNK]
            pos += _CHUNK
            continue
        while pos < chunk_end:
            flags = data[pos]
            pos += 1
            for bit in range(8):
                if pos >= chunk_end:
                    break
                if not flags & (1 << bit):
                    out.append(data[pos])
                    pos += 1
                    continue
                token = struct.unpack_from("<H", data, pos)[0]
                pos += 2
                bits = _bit_count(len(out) - start)
                offset = (token >> (16 - bits)) + 1
                length = (token & (0xFFFF >> bits)) + 3
                for _ in range(length):
                    out.append(out[-offset])
    return bytes(out)


def _bit_count(difference: int) -> int:
    """How many bits of a copy token hold the offset, at this position in a chunk."""
    bits = 4
    while (1 << bits) < difference:
        bits += 1
    return min(bits, 12)


def compress(data: bytes) -> bytes:
    """Compress with the MS-OVBA algorithm (greedy longest match within each 4 KiB chunk)."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), _CHUNK):
        chunk = data[start:start + _CHUNK]
        body = _compress_chunk(chunk)
        if len(body) > _CHUNK and len(chunk) == _CHUNK:  # incompressible: store it raw
            out += struct.pack("<H", 0x3000 | (_CHUNK - 1)) + chunk
        else:
            out += struct.pack("<H", 0xB000 | (len(body) + 2 - 3)) + body
    return bytes(out)


def _compress_chunk(chunk: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while pos < len(chunk):
        flag_at = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= len(chunk):
                break
            bits = _bit_count(pos)
            max_len = (0xFFFF >> bits) + 3
            # [MS-OVBA] 2.4.1.3.19.4: the longest match anywhere back to the chunk's start
            # (the nearest one on a tie), measured uncapped, then capped to what a token holds
            best_len, best_off = 0, 0
            end = len(chunk)
            first = chunk[pos]
            cand = chunk.rfind(first, 0, pos)
            while cand >= 0:
                length = 1
                while pos + length < end and chunk[cand + length] == chunk[pos + length]:
                    length += 1
                if length > best_len:
                    best_len, best_off = length, pos - cand
                cand = chunk.rfind(first, 0, cand)
            best_len = min(best_len, max_len)
            if best_len >= 3:
                token = ((best_off - 1) << (16 - bits)) | (best_len - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                pos += best_len
            else:
                out.append(chunk[pos])
                pos += 1
        out[flag_at] = flags
    return bytes(out)


@dataclass
class _Module:
    name: str
    stream: str
    offset: int


def _modules(dir_stream: bytes) -> list[_Module]:
    """The modules a decompressed ``dir`` stream lists, with their source offsets."""
    mods: list[_Module] = []
    pos = 0
    current: dict[str, object] = {}
    while pos + 6 <= len(dir_stream):
        rid, size = struct.unpack_from("<HI", dir_stream, pos)
        if rid == 0x0009:  # PROJECTVERSION: its size field says 4, its data is 6 bytes
            size = 6
        data = dir_stream[pos + 6:pos + 6 + size]
        pos += 6 + size
        if rid == 0x0019:
            current = {"name": data.decode("latin-1")}
        elif rid == 0x001A:
            current["stream"] = data.decode("latin-1")
            # MODULESTREAMNAMEUNICODE follows: id 0x0032, size, data
            _, usize = struct.unpack_from("<HI", dir_stream, pos)
            pos += 6 + usize
        elif rid == 0x0031:
            current["offset"] = struct.unpack("<I", data)[0]
        elif rid == 0x002B and current:
            mods.append(_Module(str(current["name"]), str(current.get("stream",
                                                                   current["name"])),
                                int(str(current.get("offset", 0)))))
            current = {}
    return mods


def module_source(project: bytes, name: str) -> str:
    """The source text of one module of a ``vbaProject.bin``.

    Raises:
        KeyError: the project has no module of that name.
    """
    import olefile  # the reading side of compound files: only needed for macro workbooks

    ole = olefile.OleFileIO(io.BytesIO(project))
    try:
        mods = {m.name: m for m in _modules(decompress(ole.openstream("VBA/dir").read()))}
        module = mods[name]
        raw = ole.openstream(f"VBA/{module.stream}").read()
    finally:
        ole.close()
    return decompress(raw[module.offset:]).decode("cp1252")


def replace_module(project: bytes, name: str, source: str) -> bytes:
    """Return ``project`` with the source of module ``name`` replaced by ``source``.

    The module keeps its name and its stream's layout: whatever precedes the source (a
    performance cache) stays, and the source after it is replaced. The project must be one
    saved for any VBA version (``_VBA_PROJECT`` version 0xFFFF), which tells the application
    to ignore those caches and compile every module from its source.

    Raises:
        KeyError: the project has no module of that name.
        ValueError: the project is tied to one VBA version, whose compiled caches would run
            instead of the new source.
    """
    import olefile

    ole = olefile.OleFileIO(io.BytesIO(project))
    try:
        streams = {"/".join(path): ole.openstream(path).read()
                   for path in ole.listdir(streams=True, storages=False)}
        storages = ["/".join(path) for path in ole.listdir(streams=False, storages=True)]
        clsids = {"/".join(path): ole.getclsid(path) for path in ole.listdir(streams=True,
                                                                               storages=True)}
    finally:
        ole.close()
    mods = {m.name: m for m in _modules(decompress(streams["VBA/dir"]))}
    module = mods[name]
    if streams.get("VBA/_VBA_PROJECT", b"")[2:4] != b"\xff\xff":
        raise ValueError("the VBA project is tied to one VBA version, so its compiled code "
                         "would run instead of new source; use a version-independent project")
    text = source.replace("\r\n", "\n").replace("\n", "\r\n")
    old = streams[f"VBA/{module.stream}"]
    streams[f"VBA/{module.stream}"] = old[:module.offset] + compress(text.encode("cp1252"))
    return write_compound_file(streams, storages, clsids)


# ----- compound file writer ------------------------------------------------------------------
_SECTOR = 512
_MINI = 64
_CUTOFF = 4096
_FREE, _END, _FATSECT = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD
_NOSTREAM = 0xFFFFFFFF


@dataclass
class _Entry:
    name: str
    kind: int  # 1 storage, 2 stream, 5 root
    data: bytes = b""
    clsid: str = ""
    children: list[_Entry] | None = None
    left: int = _NOSTREAM
    right: int = _NOSTREAM
    child: int = _NOSTREAM
    color: int = 1  # 0 red, 1 black
    start: int = _END
    index: int = 0


def _cfb_key(name: str) -> tuple[int, str]:
    """Sibling order in a compound file: shorter names first, then case-insensitive."""
    return (len(name), name.upper())


def _tree(entries: list[_Entry]) -> int:
    """Link siblings as a balanced binary tree, red only on an incomplete last level (so every
    path has the same number of black nodes); return the root's index."""
    ordered = sorted(entries, key=lambda e: _cfb_key(e.name))
    depth = 0
    while (1 << (depth + 1)) - 1 < len(ordered):
        depth += 1
    full = len(ordered) == (1 << (depth + 1)) - 1

    def build(items: list[_Entry], level: int) -> int:
        if not items:
            return _NOSTREAM
        mid = len(items) // 2
        node = items[mid]
        node.color = 0 if (level == depth and not full) else 1
        node.left = build(items[:mid], level + 1)
        node.right = build(items[mid + 1:], level + 1)
        return node.index
    return build(ordered, 0)


def write_compound_file(streams: Mapping[str, bytes], storages: Iterable[str] = (),
                        clsids: Mapping[str, str] | None = None) -> bytes:
    """Write a version 3 compound file (512-byte sectors) holding ``streams``.

    Args:
        streams: stream path (``"VBA/dir"``) -> its bytes.
        storages: storage paths to create even if empty (parents of streams always are).
        clsids: path -> CLSID string, for entries that carry one.
    """
    clsids = dict(clsids or {})
    root = _Entry("Root Entry", 5, children=[], clsid=clsids.get("", ""))
    folders: dict[str, _Entry] = {"": root}

    def folder(path: str) -> _Entry:
        if path in folders:
            return folders[path]
        parent_path, _, name = path.rpartition("/")
        parent = folder(parent_path)
        entry = _Entry(name, 1, children=[], clsid=clsids.get(path, ""))
        assert parent.children is not None
        parent.children.append(entry)
        folders[path] = entry
        return entry

    for path in storages:
        folder(path)
    for path, data in streams.items():
        parent_path, _, name = path.rpartition("/")
        parent = folder(parent_path)
        assert parent.children is not None
        parent.children.append(_Entry(name, 2, data=data))
    flat: list[_Entry] = []

    def number(entry: _Entry) -> None:
        entry.index = len(flat)
        flat.append(entry)
        for child in entry.children or []:
            number(child)
    number(root)
    for entry in flat:
        if entry.children:
            entry.child = _tree(entry.children)

    # small streams live in the mini stream (64-byte sectors), the rest in sectors
    mini = bytearray()
    mini_fat: list[int] = []
    big: list[_Entry] = []
    for entry in flat:
        if entry.kind != 2:
            continue
        if len(entry.data) < _CUTOFF:
            if not entry.data:
                entry.start = _END
                continue
            count = -(-len(entry.data) // _MINI)
            entry.start = len(mini_fat)
            mini_fat += [len(mini_fat) + i + 1 for i in range(count - 1)] + [_END]
            mini += entry.data.ljust(count * _MINI, b"\0")
        else:
            big.append(entry)
    root.data = bytes(mini)

    sectors: list[bytes] = []
    fat: list[int] = []

    def place(data: bytes) -> int:
        if not data:
            return _END
        count = -(-len(data) // _SECTOR)
        first = len(sectors)
        for i in range(count):
            sectors.append(data[i * _SECTOR:(i + 1) * _SECTOR].ljust(_SECTOR, b"\0"))
            fat.append(first + i + 1 if i < count - 1 else _END)
        return first

    for entry in big:
        entry.start = place(entry.data)
    root.start = place(root.data) if root.data else _END
    mini_fat_bytes = b"".join(struct.pack("<I", v) for v in mini_fat)
    mini_fat_bytes = mini_fat_bytes.ljust(-(-len(mini_fat_bytes) // _SECTOR) * _SECTOR,
                                          b"\xff")
    mini_fat_start = place(mini_fat_bytes) if mini_fat else _END
    mini_fat_count = len(mini_fat_bytes) // _SECTOR if mini_fat else 0
    dir_bytes = b"".join(_dir_entry(e) for e in flat)
    dir_bytes += _empty_dir_entry() * ((-len(flat)) % 4)
    dir_start = place(dir_bytes)
    # the FAT itself: enough sectors to map every sector, its own included
    fat_count = 1
    while (len(sectors) + fat_count) > fat_count * (_SECTOR // 4):
        fat_count += 1
    if fat_count > 109:
        raise ValueError("the VBA project is too large for a compound file without DIFAT "
                         "sectors")
    fat_first = len(sectors)
    fat += [_FATSECT] * fat_count
    fat += [_FREE] * (fat_count * (_SECTOR // 4) - len(fat))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    for i in range(fat_count):
        sectors.append(fat_bytes[i * _SECTOR:(i + 1) * _SECTOR])
    difat = [fat_first + i for i in range(fat_count)] + [_FREE] * (109 - fat_count)
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 16
              + struct.pack("<HHHHH", 0x003E, 0x0003, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, fat_count, dir_start, 0, _CUTOFF, mini_fat_start,
                            mini_fat_count, _END, 0)
              + b"".join(struct.pack("<I", v) for v in difat))
    assert len(header) == _SECTOR
    return header + b"".join(sectors)


def _clsid_bytes(clsid: str) -> bytes:
    if not clsid:
        return b"\0" * 16
    import uuid

    return uuid.UUID(clsid).bytes_le


def _dir_entry(e: _Entry) -> bytes:
    name = e.name.encode("utf-16-le") + b"\0\0"
    if len(name) > 64:
        raise ValueError(f"compound file entry name too long: {e.name}")
    size = len(e.data) if e.kind in (2, 5) else 0
    return (name.ljust(64, b"\0") + struct.pack("<HBB", len(name), e.kind, e.color)
            + struct.pack("<III", e.left, e.right, e.child) + _clsid_bytes(e.clsid)
            + struct.pack("<I", 0) + b"\0" * 16
            + struct.pack("<IQ", e.start if (size or e.kind == 5) else 0, size))


def _empty_dir_entry() -> bytes:
    return (b"\0" * 64 + struct.pack("<HBB", 0, 0, 0)
            + struct.pack("<III", _NOSTREAM, _NOSTREAM, _NOSTREAM) + b"\0" * 16
            + struct.pack("<I", 0) + b"\0" * 16 + struct.pack("<IQ", 0, 0))
