#!/usr/bin/python3
"""make_hostile.py — writes tests/fixtures/hostile/: checkpoints built to attack a reader, each of which
llq-convert and llq-inspect must refuse with one line, executing nothing and writing nothing
(tests/cli/hostile.sh). Pickles are assembled opcode by opcode (no pickle module, nothing here can run
them); containers are real torch zip / legacy streams / safetensors so the attack reaches the pickle machine.
Every code-execution payload runs `touch /tmp/llq-hostile-pwned`: the test asserts the marker never appears.
Run: /usr/bin/python3 tests/make_hostile.py (deterministic; needs only the standard library)."""
import json
import os
import struct
import zipfile
import zlib

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "hostile")
MARKER = "/tmp/llq-hostile-pwned"
CMD = "touch " + MARKER

# ---- pickle opcodes ----
PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
MARK, STOP, TUPLE, REDUCE, EMPTY_DICT, EMPTY_LIST, SETITEM, SETITEMS, APPENDS, EMPTY_TUPLE = (
    b"(", b".", b"t", b"R", b"}", b"]", b"s", b"u", b"e", b")")
TUPLE1, TUPLE2, NEWFALSE, BINPERSID, STACK_GLOBAL, MEMOIZE = b"\x85", b"\x86", b"\x89", b"Q", b"\x93", b"\x94"


def glob(mod, name):            # GLOBAL
    return b"c" + mod.encode() + b"\n" + name.encode() + b"\n"


def s(x):                       # BINUNICODE
    b = x.encode()
    return b"X" + struct.pack("<I", len(b)) + b


def short_s(x):                 # SHORT_BINUNICODE (protocol 4)
    b = x.encode()
    return b"\x8c" + bytes([len(b)]) + b


def i(n):                       # BININT1 / BININT
    return b"K" + bytes([n]) if 0 <= n < 256 else b"J" + struct.pack("<i", n)


def put(k):                     # BINPUT
    return b"q" + bytes([k])


def get(k):                     # BINGET
    return b"h" + bytes([k])


def lput(k):                    # LONG_BINPUT at a memo index far above the checkpoint's own
    return b"r" + struct.pack("<I", 1000000 + k)


def lget(k):                    # LONG_BINGET
    return b"j" + struct.pack("<I", 1000000 + k)


def call(fn, *args):            # fn(*args) via REDUCE
    return fn + MARK + b"".join(args) + TUPLE + REDUCE


def odict():                    # collections.OrderedDict()
    return call(glob("collections", "OrderedDict"))


def tensor(key, numel, size):   # torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict())
    persid = MARK + s("storage") + glob("torch", "FloatStorage") + s(key) + s("cpu") + i(numel) + TUPLE + BINPERSID
    return call(glob("torch._utils", "_rebuild_tensor_v2"), persid, i(0), i(size) + TUPLE1, i(1) + TUPLE1,
                NEWFALSE, odict())


def state_dict(*items):         # OrderedDict with key/value pickles
    return odict() + MARK + b"".join(s(k) + v for k, v in items) + SETITEMS


# ---- containers ----
def torch_zip(name, pkl, storages=()):
    """A torch.save (>= 1.6) archive: <name>/data.pkl, <name>/version, <name>/data/<key> (stored)."""
    path = os.path.join(OUT, name)
    base = os.path.splitext(name)[0]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for n, data in [("data.pkl", pkl), ("version", b"3\n")] + [("data/" + k, v) for k, v in storages]:
            zi = zipfile.ZipInfo(base + "/" + n, date_time=(1980, 1, 1, 0, 0, 0))
            z.writestr(zi, data)


def torch_legacy(name, pkl):
    """A legacy (pre-1.6) torch stream: magic number, protocol 1001, sys_info, then the main pickle."""
    magic = PROTO2 + b"\x8a\x0a" + (0x1950A86A20F9469CFC6C).to_bytes(10, "little") + STOP
    proto = PROTO2 + b"M" + struct.pack("<H", 1001) + STOP
    info = PROTO2 + EMPTY_DICT + MARK + s("protocol_version") + b"M" + struct.pack("<H", 1001) + \
        s("little_endian") + b"\x88" + s("type_sizes") + EMPTY_DICT + SETITEMS + STOP
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(magic + proto + info + pkl + PROTO2 + EMPTY_LIST + STOP)


META1 = os.path.join(os.path.dirname(OUT), "ckpt", "meta-1", "consolidated.00.pth")


def meta1(name, extra=b"", bomb_storage=None):
    """The valid LLaMA checkpoint tests/fixtures/ckpt/meta-1 (tests/make_fixtures.py), changed so that a
    converter must reach the attack after every layout check: `extra` (key/value pickles + SETITEM) is run on
    the state dict just before its STOP (overriding a tensor); bomb_storage = the storage entry replaced by
    32 MB of zeros deflated, still declared as its original size."""
    entries = []
    with zipfile.ZipFile(META1) as z:
        for zi in z.infolist():
            entries.append((zi.filename, z.read(zi.filename)))
    path = os.path.join(OUT, name)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in entries:
            zi = zipfile.ZipInfo(n, date_time=(1980, 1, 1, 0, 0, 0))
            if n.endswith("/data.pkl"):
                assert data.endswith(STOP)
                data = data[:-1] + extra + STOP
            if bomb_storage and n.endswith("/data/" + bomb_storage):
                decl = len(data)
                data = bytes(32 << 20)
                zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, data)
    if bomb_storage:
        lie(path, [n for n, _ in entries if n.endswith("/data/" + bomb_storage)][0], decl)


def lie(path, entry, usize):
    """Rewrites the declared uncompressed size (and CRC, of that many zeros) of entry in both headers."""
    b = bytearray(open(path, "rb").read())
    with zipfile.ZipFile(path) as z:
        lh = z.getinfo(entry).header_offset     # local header: crc @14, usize @22
    crc = zlib.crc32(bytes(usize))
    b[lh + 14:lh + 18] = struct.pack("<I", crc)
    b[lh + 22:lh + 26] = struct.pack("<I", usize)
    cd = b.find(b"PK\x01\x02")
    while cd >= 0:                              # central directory: crc @16, usize @24
        nlen = struct.unpack("<H", b[cd + 28:cd + 30])[0]
        if bytes(b[cd + 46:cd + 46 + nlen]) == entry.encode():
            b[cd + 16:cd + 20] = struct.pack("<I", crc)
            b[cd + 24:cd + 28] = struct.pack("<I", usize)
        cd = b.find(b"PK\x01\x02", cd + 4)
    write(os.path.basename(path), bytes(b))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def varint(b, i):
    v = sh = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << sh
        sh += 7
        if c < 0x80:
            return v, i


def drop_pieces(src, name, k):
    """The SentencePiece model src with its last k pieces (field 1 of ModelProto) left out: a tokenizer with
    fewer pieces than the embedding rows of the checkpoint beside it (the rows past it then look like padding)."""
    b = open(src, "rb").read()
    fields, i = [], 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        wire = key & 7
        if wire == 0:
            _, i = varint(b, i)
        elif wire == 2:
            n, i = varint(b, i)
            i += n
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        else:
            raise ValueError("wire type %d" % wire)
        fields.append((key >> 3, b[start:i]))
    last = [j for j, (f, _) in enumerate(fields) if f == 1][-k:]
    write(name, b"".join(raw for j, (_, raw) in enumerate(fields) if j not in last))


def main():
    os.makedirs(OUT, exist_ok=True)
    storage0 = [("0", struct.pack("<4f", 1, 2, 3, 4))]
    good_w = tensor("0", 4, 4)

    # code execution through REDUCE, as the value of a tensor entry of an otherwise valid state dict
    system = call(glob("os", "system"), s(CMD))
    torch_zip("system.pth", PROTO2 + state_dict(("w", system)) + STOP)
    torch_zip("posix_system.pth", PROTO2 + state_dict(("ok", good_w), ("w", call(glob("posix", "system"), s(CMD))))
              + STOP, storage0)
    py = "__import__('os').system('%s')" % CMD
    torch_zip("eval.pth", PROTO2 + state_dict(("w", call(glob("builtins", "eval"), s(py)))) + STOP)
    torch_zip("exec.pth", PROTO2 + state_dict(("w", call(glob("builtins", "exec"), s(py)))) + STOP)
    torch_zip("getattr.pth", PROTO2 + state_dict(("w", call(call(glob("builtins", "getattr"),
              call(glob("builtins", "__import__"), s("os")), s("system")), s(CMD)))) + STOP)
    # protocol 4: the callee named by STACK_GLOBAL, memoized
    sg = short_s("os") + MEMOIZE + short_s("system") + MEMOIZE + STACK_GLOBAL + MEMOIZE
    torch_zip("stack_global.pth", PROTO4 + EMPTY_DICT + MEMOIZE + short_s("w") + sg + MARK + short_s(CMD) +
              TUPLE + REDUCE + SETITEM + STOP)
    # the evil call hidden inside an allow-listed rebuild call (as the storage offset argument)
    inner = call(glob("torch._utils", "_rebuild_tensor_v2"),
                 MARK + s("storage") + glob("torch", "FloatStorage") + s("0") + s("cpu") + i(4) + TUPLE + BINPERSID,
                 system, i(4) + TUPLE1, i(1) + TUPLE1, NEWFALSE, odict())
    torch_zip("nested_system.pth", PROTO2 + state_dict(("w", inner)) + STOP, storage0)
    torch_legacy("legacy_system.pth", PROTO2 + state_dict(("w", system)) + STOP)

    # memo bombs: each level (the previous one POPped off the stack, "0") holds the previous one twice (2^60 paths through 60 shared nodes)
    levels = 60
    bomb = PROTO2 + EMPTY_DICT + put(0)
    for k in range(1, levels + 1):
        bomb += b"0" + EMPTY_DICT + MARK + s("a") + get(k - 1) + s("b") + get(k - 1) + SETITEMS + put(k)
    torch_zip("memo_bomb_dict.pth", bomb + STOP)
    # ... 30 levels, under the walker's depth limit: 2^30 paths to walk
    bomb = EMPTY_DICT + lput(0)
    for k in range(1, 31):
        bomb += b"0" + EMPTY_DICT + MARK + s("a") + lget(k - 1) + s("b") + lget(k - 1) + SETITEMS + lput(k)
    meta1("memo_bomb_wide.pth", s("extra") + bomb + SETITEM)
    # lists, as the value of a tensor's key (a second value for the key)
    bomb = EMPTY_LIST + lput(0)
    for k in range(1, levels + 1):
        bomb += b"0" + EMPTY_LIST + MARK + lget(k - 1) + lget(k - 1) + APPENDS + lput(k)
    meta1("memo_bomb_list.pth", s("tok_embeddings.weight") + bomb + SETITEM)
    # a tensor's size tuple built from a 60-level tuple bomb
    bomb = PROTO2 + i(4) + TUPLE1 + put(0)
    for k in range(1, levels + 1):
        bomb += get(k - 1) + get(k - 1) + TUPLE2 + put(k)
    t = call(glob("torch._utils", "_rebuild_tensor_v2"),
             MARK + s("storage") + glob("torch", "FloatStorage") + s("0") + s("cpu") + i(4) + TUPLE + BINPERSID,
             i(0), bomb[2:], i(1) + TUPLE1, NEWFALSE, odict())
    torch_zip("memo_bomb_shape.pth", PROTO2 + state_dict(("w", t)) + STOP, storage0)
    # 20000-deep nesting of lists (a recursive walker would overflow its stack)
    meta1("deep_nest.pth", s("norm.weight") + EMPTY_LIST * 20000 + b"a" * 19999 + SETITEM)

    # LONGs of absurd length: LONG4 claiming 2^31-1 bytes (absent), and a real 4000-byte integer as a dimension
    torch_zip("long_absurd.pth", PROTO2 + state_dict(("w", b"\x8b\xff\xff\xff\x7f" + b"\x01" * 64)) + STOP)
    huge = b"\x8b" + struct.pack("<I", 4000) + b"\xff" * 3999 + b"\x7f"
    t = call(glob("torch._utils", "_rebuild_tensor_v2"),
             MARK + s("storage") + glob("torch", "FloatStorage") + s("0") + s("cpu") + i(4) + TUPLE + BINPERSID,
             i(0), huge + TUPLE1, i(1) + TUPLE1, NEWFALSE, odict())
    torch_zip("long_dim.pth", PROTO2 + state_dict(("w", t)) + STOP, storage0)

    # safetensors whose one tensor claims 100 GB (25000 x 1000000 f32) in a 1 KB file
    hdr = json.dumps({"w": {"dtype": "F32", "shape": [25000, 1000000], "data_offsets": [0, 100000000000]}}).encode()
    hdr += b" " * (-len(hdr) % 8)
    write("st_tensor_100gb.safetensors", struct.pack("<Q", len(hdr)) + hdr + bytes(1024))
    # safetensors whose header length field claims 100 GB
    write("st_header_100gb.safetensors", struct.pack("<Q", 100 * 10**9) + b'{"w":{"dtype":"F32","shape":[1],'
          b'"data_offsets":[0,4]}}' + bytes(4))

    # zip bomb: a storage of the valid checkpoint replaced by 32 MB of zeros deflated (~32 KB), declared as
    # its original 20 KB
    meta1("zip_bomb.pth", bomb_storage="0")

    # a complex64 tensor (torch.ComplexFloatStorage): unsupported, and said so (not a refusal that reads like an attack)
    cplx = MARK + s("storage") + glob("torch", "ComplexFloatStorage") + s("0") + s("cpu") + i(2) + TUPLE + BINPERSID
    torch_zip("complex.pth", PROTO2 + state_dict(("w", call(glob("torch._utils", "_rebuild_tensor_v2"), cplx, i(0),
              i(2) + TUPLE1, i(1) + TUPLE1, NEWFALSE, odict()))) + STOP, storage0)

    # meta-1's tokenizer (320 pieces, as many as its embedding rows) without its last 4 pieces
    drop_pieces(os.path.join(os.path.dirname(OUT), "ckpt", "meta-1", "tokenizer.model"), "tokenizer_316.model", 4)

    # a valid archive whose end record puts the central directory past the end of the file
    torch_zip("cd_outside.pth", PROTO2 + state_dict(("w", good_w)) + STOP, storage0)
    b = bytearray(open(os.path.join(OUT, "cd_outside.pth"), "rb").read())
    eocd = b.rfind(b"PK\x05\x06")
    b[eocd + 16:eocd + 20] = struct.pack("<I", len(b) + 4096)
    write("cd_outside.pth", bytes(b))
    # ... and one whose directory entry puts a local header past the end
    torch_zip("local_outside.pth", PROTO2 + state_dict(("w", good_w)) + STOP, storage0)
    b = bytearray(open(os.path.join(OUT, "local_outside.pth"), "rb").read())
    cd = b.find(b"PK\x01\x02")
    b[cd + 42:cd + 46] = struct.pack("<I", 0xFFFFFFF0 - 100)
    write("local_outside.pth", bytes(b))


if __name__ == "__main__":
    main()
