#!/usr/bin/python3
"""make_tokenizer_refs.py — reference data for the tokenizer tests, made with python3-sentencepiece.

Run from the repository root with Debian's python (/usr/bin/python3 tests/make_tokenizer_refs.py).
Writes tests/fixtures/tokenizer/:
  pydoc_test_ids.u32.gz   [BOS] + sp.encode(models/pydoc-7m/test.txt): little-endian uint32, gzipped
  <model>.model           small SentencePiece models trained here on calib.txt (committed, so the
                          references below stay valid even if a retrain would differ), and pydoc's
                          vocabulary with other normaliser flags (pydoc_noesc.model)
  <model>.json            for each model (pydoc = models/pydoc-7m/tokenizer.model): its vocabulary as the
                          library reports it, encode cases (tricky + random strings -> ids and decoded
                          text) and decode cases (random id sequences -> text). Bytes are hex.
The models nfkc.model (nmt_nfkc normaliser) and unigram.model exist to test that they are refused.
"""
import gzip
import io
import json
import os
import random
import struct
import sys

import sentencepiece as spm

OUT = "tests/fixtures/tokenizer"
PYDOC = "models/pydoc-7m/tokenizer.model"
TYPES = {"normal": 1, "unknown": 2, "control": 3, "user_defined": 4, "unused": 5, "byte": 6}


def train(name, **kw):
    """Trains a small model on the first 2000 lines of calib.txt; returns its bytes."""
    with open("models/pydoc-7m/calib.txt", encoding="utf-8") as f:
        lines = [l.rstrip("\n") for l in f][:2000]
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(lines), model_writer=buf, num_threads=1,
                                   minloglevel=2, **kw)
    data = buf.getvalue()
    with open(os.path.join(OUT, name + ".model"), "wb") as f:
        f.write(data)
    return data


# ---- a minimal protobuf rewriter (only to mark pieces UNUSED: the trainer cannot make them) ----
def varint(b, i):
    r = s = 0
    while True:
        c = b[i]
        i += 1
        r |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return r, i


def enc_varint(v):
    out = bytearray()
    while True:
        c = v & 0x7F
        v >>= 7
        out.append(c | (0x80 if v else 0))
        if not v:
            return bytes(out)


def fields(b):
    i = 0
    while i < len(b):
        start = i
        k, i = varint(b, i)
        wt = k & 7
        if wt == 0:
            _, i = varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = varint(b, i)
            i += n
        else:
            raise ValueError("wire type %d" % wt)
        yield k >> 3, b[start:i]


def mark_unused(data, ids):
    out, idx = bytearray(), 0
    for field, raw in fields(data):
        if field == 1:
            if idx in ids:
                k, i = varint(raw, 0)
                n, i = varint(raw, i)
                body = b"".join(r for f, r in fields(raw[i:i + n]) if f != 3) + b"\x18\x05"
                raw = raw[:1] + enc_varint(len(body)) + body
            idx += 1
        out += raw
    return bytes(out)


def set_normalizer_flags(data, extra):
    """Appends raw fields to the NormalizerSpec (protobuf: the last value of a field wins)."""
    out = bytearray()
    for field, raw in fields(data):
        if field == 3:
            k, i = varint(raw, 0)
            n, i = varint(raw, i)
            body = raw[i:i + n] + extra
            raw = raw[:1] + enc_varint(len(body)) + body
        out += raw
    return bytes(out)


def vocab(sp, user_defined=()):
    pieces, scores, types = [], [], []
    for i in range(sp.get_piece_size()):
        p = sp.id_to_piece(i)
        if sp.is_unknown(i):
            t = "unknown"
        elif sp.is_control(i):
            t = "control"
        elif sp.is_byte(i):
            t = "byte"
        elif sp.is_unused(i):
            t = "unused"
        elif p in user_defined:
            t = "user_defined"
        else:
            t = "normal"
        pieces.append(p.encode("utf-8").hex())
        scores.append(sp.get_score(i))
        types.append(TYPES[t])
    return {"n_vocab": sp.get_piece_size(), "bos_id": sp.bos_id(), "eos_id": sp.eos_id(), "unk_id": sp.unk_id(),
            "pad_id": sp.pad_id(), "pieces_hex": pieces, "scores": scores, "types": types}


TRICKY = [
    b"", b" ", b"  ", b"   x", b"x   ", b" leading", b"trailing ", b"multiple   spaces  here ", b"\n", b"a\nb\n\nc\n",
    b"\t tab\tsep\t", b"\r\n", b"line one\r\nline two", b"12345 3.14159 1e-10 0x1F 1,000,000", b"x = [1, 22, 333]",
    b"def f(x):\n    return x ** 2\n", b"        deeply indented", b">>> print('hi')\nhi\n",
    "\u00fcber caf\u00e9 na\u00efve \u00c9cole".encode(), "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8".encode(),
    "emoji \U0001F600 \U0001F680 \U0001F44D\U0001F3FD \U0001F609".encode(), "\u03a9\u2248\u00e7\u221a\u222b".encode(),
    "\u2581 literal lower-one-eighth block \u2581\u2581".encode(), "non\u00a0breaking\u2003em space".encode(),
    "\ufeffBOM and \u200bzero width".encode(), b"\x00nul\x00", b"bell\x07 esc\x1b[0m",
    b"\xff\xfe invalid", b"abc\xc3", b"\xc3", b"\xed\xa0\x80 surrogate", b"\xf4\x90\x80\x80 too big", b"\xc0\xaf overlong",
    b"\xe2\x82 truncated \xf0\x9f\x98", "\ufffd replacement".encode(), b"<s> </s> <unk> <pad>", b"<0x41> <0xZZ>",
    b"<py>x<py> <sep> >>>>>> >>", b"supercalifragilisticexpialidocious", b"a" * 1000, b"ab" * 300, b"-" * 77,
    b"=" * 40, b" " * 17, b"\n" * 5, b"..." * 30, b"\xf0\x9f\x98\x80" * 20, b"\\begin{x} ${y}$ @decorator #tag",
    b"import numpy as np\nnp.array([[1.5, -2.0], [3e8, 0.]])  # comment",
]


def random_strings(rng, text, n):
    alphabet = [b" ", b"  ", b"a", b"e", b"th", b"in", b"\n", b"\t", b"0", b"7", b"\xc3\xa9", b"\xe2\x96\x81",
                b"\xf0\x9f\x98\x80", b"\xff", b"\x80", b"\xe2", b"-", b"=", b"'", b"(", b">>>", b"<py>", b"<s>"]
    out = []
    for k in range(n):
        if k % 2 == 0:  # a slice of the test text, at any byte offset (may cut a UTF-8 character)
            a = rng.randrange(len(text))
            out.append(text[a:a + rng.randrange(1, 400)])
        else:
            out.append(b"".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 40))))
    return out


def refs(name, sp, user_defined=(), seed=1, n_random=300):
    rng = random.Random(seed)
    text = open("models/pydoc-7m/test.txt", "rb").read()
    cases = []
    for s in TRICKY + random_strings(rng, text, n_random):
        ids = sp.encode(s)  # bytes in: the library sees them unchanged (invalid UTF-8 included)
        dec = sp.decode(ids).encode("utf-8")
        cases.append({"text_hex": s.hex(), "ids": ids, "decoded_hex": dec.hex()})
    n = sp.get_piece_size()
    dcases = []
    for k in range(300):
        ids = [rng.randrange(n) for _ in range(rng.randrange(1, 12))]
        if k % 3 == 0:  # runs of byte pieces: valid and broken UTF-8
            ids = [i for i in ids if not sp.is_byte(i)] + [sp.piece_to_id("<0x%02X>" % b) for b in
                                                            rng.choice([b"\xc3\xa9", b"\xe2\x96\x81", b"\xf0\x9f",
                                                                        b"\xff", b"A\x80B"])]
            ids = [i for i in ids if i != sp.unk_id() or rng.random() < 0.5]
            rng.shuffle(ids)
        dcases.append({"ids": ids, "text_hex": sp.decode(ids).encode("utf-8").hex()})
    ref = {"model": name, "vocab": vocab(sp, user_defined), "encode": cases, "decode": dcases}
    with open(os.path.join(OUT, name + ".json"), "w") as f:
        json.dump(ref, f, separators=(",", ":"))
        f.write("\n")
    print("%s: %d encode cases, %d decode cases" % (name, len(cases), len(dcases)))


def main():
    os.makedirs(OUT, exist_ok=True)
    sp = spm.SentencePieceProcessor(model_file=PYDOC)
    text = open("models/pydoc-7m/test.txt", "rb").read().decode("utf-8")  # no newline translation
    ids = [sp.bos_id()] + sp.encode(text)
    with gzip.GzipFile(os.path.join(OUT, "pydoc_test_ids.u32.gz"), "wb", mtime=0) as f:
        f.write(struct.pack("<%dI" % len(ids), *ids))
    print("pydoc test split: %d bytes -> %d ids (with BOS)" % (len(text.encode()), len(ids)))
    refs("pydoc", sp)

    ud = [">>>", "<py>"]
    data = train("bpe_ws", model_type="bpe", vocab_size=500, normalization_rule_name="identity",
                 remove_extra_whitespaces=True, byte_fallback=False, user_defined_symbols=ud,
                 control_symbols=["<sep>"], character_coverage=0.995)
    refs("bpe_ws", spm.SentencePieceProcessor(model_proto=data), ud, seed=2)

    data = train("bpe_nodummy", model_type="bpe", vocab_size=600, normalization_rule_name="identity",
                 add_dummy_prefix=False, remove_extra_whitespaces=False, byte_fallback=True,
                 split_by_whitespace=False, split_digits=True, unk_id=1, pad_id=0, eos_id=2, bos_id=-1)
    refs("bpe_nodummy", spm.SentencePieceProcessor(model_proto=data), seed=3)

    # Unused pieces: mark some merged pieces UNUSED; the library then splits them back when encoding.
    sp2 = spm.SentencePieceProcessor(model_proto=data)
    unused = {i for i in range(sp2.get_piece_size()) if sp2.get_score(i) < 0 and i % 7 == 0 and
              len(sp2.id_to_piece(i)) >= 2}
    data = mark_unused(data, unused)
    with open(os.path.join(OUT, "bpe_unused.model"), "wb") as f:
        f.write(data)
    sp3 = spm.SentencePieceProcessor(model_proto=data)
    assert sum(sp3.is_unused(i) for i in range(sp3.get_piece_size())) == len(unused)
    refs("bpe_unused", sp3, seed=4)

    # The pydoc vocabulary with the other normaliser settings: escape_whitespaces false (spaces stay ' '),
    # remove_extra_whitespaces true, add_dummy_prefix false (fields 5, 4, 3 of NormalizerSpec).
    data = set_normalizer_flags(open(PYDOC, "rb").read(), b"\x28\x00\x20\x01\x18\x00")
    with open(os.path.join(OUT, "pydoc_noesc.model"), "wb") as f:
        f.write(data)
    refs("pydoc_noesc", spm.SentencePieceProcessor(model_proto=data), seed=5, n_random=120)

    train("nfkc", model_type="bpe", vocab_size=300)
    train("unigram", model_type="unigram", vocab_size=300, normalization_rule_name="identity")


if __name__ == "__main__":
    sys.exit(main())
