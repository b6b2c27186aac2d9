#!/usr/bin/env python3
"""tests/fixtures/tokenizer/stress_nfc.txt: the stress corpus with invalid UTF-8 dropped and in Unicode NFC, for the
interop suite (tests/interop/run.sh): llama.cpp applies no normalizer, so Qwen's NFC is compared on NFC text."""
import os
import unicodedata

d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "tokenizer")
text = open(os.path.join(d, "stress.txt"), "rb").read().decode("utf-8", "ignore")
with open(os.path.join(d, "stress_nfc.txt"), "w", encoding="utf-8", newline="") as f:
    f.write(unicodedata.normalize("NFC", text))


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1)) + \
        list(range(ord("\u00ae"), ord("\u00ff") + 1))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


# tests/fixtures/tokenizer/hf_bytes256.json: a byte-level BPE tokenizer.json of exactly the 256 single bytes (no
# merges) with Qwen's pre-tokenizer and normalizer, so that the tied qwen2 fixture (256 embedding rows) has a
# tokenizer llama.cpp can load (node-llama-cpp cannot load a "no_vocab" GGUF)
import json  # noqa: E402

qwen = json.load(open(os.path.join(d, "hf_qwen_small.json"), encoding="utf-8"))
m = bytes_to_unicode()
tok = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [],
       "normalizer": qwen["normalizer"], "pre_tokenizer": qwen["pre_tokenizer"], "post_processor": None,
       "decoder": qwen["decoder"],
       "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                 "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                 "vocab": {m[b]: b for b in range(256)}, "merges": []}}
with open(os.path.join(d, "hf_bytes256.json"), "w", encoding="utf-8") as f:
    json.dump(tok, f, ensure_ascii=False)
