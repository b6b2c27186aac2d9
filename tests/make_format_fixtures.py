#!/usr/bin/python3
"""make_format_fixtures.py — writes tests/fixtures/format/*.llq: one valid file built from docs/FORMAT.md by this
independent writer (so the C reader is checked against the spec, not against itself), and corrupt variants of it,
one defect each. Plain Python 3, no dependencies. Run from the repository root:

    /usr/bin/python3 tests/make_format_fixtures.py
"""
import os
import struct
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "format")
MAGIC = b"\x89LLQ\r\n\x1a\n"
F32, F16, Q8, Q4 = 0, 1, 16, 17


def crc(b):
    return zlib.crc32(b) & 0xFFFFFFFF


def meta_entry(key, vtype, value):
    k = key.encode()
    return struct.pack("<I", len(k)) + k + struct.pack("<IQ", vtype, len(value)) + value


def row_bytes(ttype, group, k):
    if ttype == F32:
        return 4 * k
    if ttype == F16:
        return 2 * k
    g = group if group else (k + 31) // 32 * 32
    G = (k + g - 1) // g
    return (G * g if ttype == Q8 else G * g // 2) + 2 * G


def tensors():
    """(name, type, dims, group, data): a few small tensors of different types."""
    out = []
    vals = [((i * 37) % 19 - 9) / 8.0 for i in range(3 * 40)]
    out.append(("a.weight", F32, [3, 40], 0, struct.pack("<120f", *vals)))
    out.append(("b.weight", F16, [8], 0, b"".join(struct.pack("<e", v) for v in vals[:8])))
    # q8, g = 32, row of 40: q[64] (padding 0) then two f16 scales
    row = bytes((i * 5) % 256 if i < 40 else 0 for i in range(64)) + struct.pack("<ee", 0.5, 0.25)
    row = bytes(b if b != 0x80 else 0x7F for b in row[:64]) + row[64:]
    out.append(("c.weight", Q8, [2, 40], 32, row * 2))
    # q4, per-row, row of 32: 16 nibble bytes + one scale
    out.append(("d.weight", Q4, [1, 32], 0, bytes(range(16)) + struct.pack("<e", 0.125)))
    for name, t, dims, g, data in out:
        n_rows = 1
        for d in dims[:-1]:
            n_rows *= d
        assert len(data) == n_rows * row_bytes(t, g, dims[-1]), name
    return out


def build(tens, meta_entries, tweak_entry=None):
    """Returns the bytes of a .llq file. tweak_entry(i, fields) may alter table fields before encoding."""
    data = bytearray(b"\0" * 128)
    table = bytearray()
    for i, (name, t, dims, g, payload) in enumerate(tens):
        while len(data) % 64:
            data.append(0)
        f = {"name": name.encode(), "type": t, "dims": list(dims), "group": g, "crc": crc(payload),
             "offset": len(data), "size": len(payload)}
        data += payload
        if tweak_entry:
            tweak_entry(i, f)
        table += struct.pack("<I", len(f["name"])) + f["name"] + struct.pack("<II", f["type"], len(f["dims"]))
        table += b"".join(struct.pack("<Q", d) for d in f["dims"])
        table += struct.pack("<IIQQ", f["group"], f["crc"], f["offset"], f["size"])
    while len(data) % 64:
        data.append(0)
    meta = struct.pack("<I", len(meta_entries)) + b"".join(meta_entries)
    meta_off = len(data)
    table_off = meta_off + len(meta)
    size = table_off + len(table)
    head = MAGIC + struct.pack("<IIQQQQQIIII", 1, 0, size, meta_off, len(meta), table_off, len(table), len(tens),
                               crc(meta), crc(table), 0) + b"\0" * 52
    head += struct.pack("<I", crc(head))
    assert len(head) == 128
    return bytes(head) + bytes(data[128:]) + meta + bytes(table)


def fix_header(b):
    b = bytearray(b)
    b[124:128] = struct.pack("<I", crc(bytes(b[:124])))
    return bytes(b)


def fix_table_crc(b):
    b = bytearray(b)
    toff, tsize = struct.unpack_from("<QQ", b, 40)
    struct.pack_into("<I", b, 64, crc(bytes(b[toff:toff + tsize])))
    return fix_header(bytes(b))


def main():
    os.makedirs(OUT, exist_ok=True)
    meta = [
        meta_entry("general.architecture", 8, b"llama"),
        meta_entry("general.name", 8, b"fixture"),
        meta_entry("test.count", 1, struct.pack("<I", 7)),
        meta_entry("test.future", 200, b"\1\2\3"),  # unknown value type: kept, skipped
    ]
    t = tensors()
    good = build(t, meta)
    files = {"valid.llq": good}

    files["truncated.llq"] = good[: len(good) // 2]
    files["bad_magic.llq"] = b"GGUF" + good[4:]
    b = bytearray(good)
    struct.pack_into("<I", b, 8, 2)
    files["newer_major.llq"] = fix_header(bytes(b))
    b = bytearray(good)
    b[100] = 0xAA
    files["bad_header_crc.llq"] = bytes(b)

    def past_end(i, f):
        if i == 1:
            f["offset"] = 1 << 20
    files["offset_past_end.llq"] = build(t, meta, past_end)

    def overlap(i, f):
        if i == 1:
            f["offset"] = 128 + 64  # inside a.weight's 480 bytes
    files["overlap.llq"] = build(t, meta, overlap)

    def dims_overflow(i, f):
        if i == 0:
            f["dims"] = [1 << 33, 1 << 33]
    files["dims_overflow.llq"] = build(t, meta, dims_overflow)

    def unknown_type(i, f):
        if i == 1:
            f["type"] = 23
    files["unknown_type.llq"] = build(t, meta, unknown_type)

    # a metadata string claiming 2^40 bytes, far more than the file has (the meta CRC is recomputed over the
    # bytes as they are, so the length check is what fires)
    k = b"general.name"
    long_str = meta[:1] + [struct.pack("<I", len(k)) + k + struct.pack("<IQ", 8, 1 << 40) + b"fixture"]
    files["meta_string_too_long.llq"] = build(t, long_str)

    # one data byte of c.weight flipped: the file opens, --verify names c.weight
    offsets = {}
    build(t, meta, lambda i, f: offsets.setdefault(f["name"], f["offset"]))
    b = bytearray(good)
    b[offsets[b"c.weight"] + 3] ^= 0x01
    files["bad_tensor_crc.llq"] = bytes(b)

    for name, data in sorted(files.items()):
        with open(os.path.join(OUT, name), "wb") as fp:
            fp.write(data)
        print("wrote %s (%d bytes)" % (os.path.join("tests/fixtures/format", name), len(data)))


if __name__ == "__main__":
    main()
