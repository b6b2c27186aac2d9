"""gguf_min.py — just enough of GGUF (v2/v3) to list tensors and read their bytes; for fixture generators only."""
import struct

GGML_NAMES = {0: "f32", 1: "f16", 2: "q4_0", 3: "q4_1", 6: "q5_0", 7: "q5_1", 8: "q8_0", 10: "q2_k", 11: "q3_k",
              12: "q4_k", 13: "q5_k", 14: "q6_k", 20: "iq4_nl", 23: "iq4_xs", 30: "bf16"}
BLOCK = {"f32": (1, 4), "f16": (1, 2), "bf16": (1, 2), "q4_0": (32, 18), "q4_1": (32, 20), "q5_0": (32, 22),
         "q5_1": (32, 24), "q8_0": (32, 34), "q2_k": (256, 84), "q3_k": (256, 110), "q4_k": (256, 144),
         "q5_k": (256, 176), "q6_k": (256, 210), "iq4_nl": (32, 18), "iq4_xs": (256, 136)}


class Reader:
    def __init__(self, path):
        self.buf = open(path, "rb").read()
        self.pos = 0
        assert self.buf[:4] == b"GGUF"
        self.pos = 4
        self.version = self.u32()
        n_tensors, n_kv = self.u64(), self.u64()
        self.kv = {}
        for _ in range(n_kv):
            k = self.str()
            self.kv[k] = self.val(self.u32())
        self.tensors = []
        for _ in range(n_tensors):
            name = self.str()
            nd = self.u32()
            dims = [self.u64() for _ in range(nd)]
            t = self.u32()
            off = self.u64()
            self.tensors.append((name, dims, GGML_NAMES.get(t, str(t)), off))
        align = self.kv.get("general.alignment", 32)
        self.data = (self.pos + align - 1) // align * align

    def _u(self, fmt, n):
        v = struct.unpack_from("<" + fmt, self.buf, self.pos)[0]
        self.pos += n
        return v

    def u32(self): return self._u("I", 4)
    def u64(self): return self._u("Q", 8)

    def str(self):
        n = self.u64()
        s = self.buf[self.pos:self.pos + n].decode("utf-8", "replace")
        self.pos += n
        return s

    def val(self, t):
        fmts = {0: ("B", 1), 1: ("b", 1), 2: ("H", 2), 3: ("h", 2), 4: ("I", 4), 5: ("i", 4), 6: ("f", 4),
                7: ("?", 1), 10: ("Q", 8), 11: ("q", 8), 12: ("d", 8)}
        if t in fmts:
            return self._u(*fmts[t])
        if t == 8:
            return self.str()
        assert t == 9
        et, n = self.u32(), self.u64()
        return [self.val(et) for _ in range(n)]

    def tensor_bytes(self, name):
        for n, dims, t, off in self.tensors:
            if n == name:
                be, bb = BLOCK[t]
                ne = 1
                for d in dims:
                    ne *= d
                return self.buf[self.data + off:self.data + off + ne // be * bb], dims, t
        raise KeyError(name)
