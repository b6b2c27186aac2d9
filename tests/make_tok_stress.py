#!/usr/bin/env python3
"""Writes tests/fixtures/tokenizer/stress.txt: the tokenizer stress corpus (docs/TOKENIZERS.md).

Cases are separated by a line holding only "\x1e" (ASCII record separator); each case is tokenized on its own
and the whole file once more. Bytes, not text: the corpus holds invalid UTF-8 on purpose."""
import os

cases = []
def add(s):
    cases.append(s.encode('utf-8') if isinstance(s, str) else s)

add("Hello world! The quick brown fox jumps over the lazy dog.")
add("  leading spaces, trailing spaces   ")
add("tabs\tand\t\ttabs\t \t mixed\n")
add("CRLF line\r\nnext line\r\n\r\nblank above\rlone CR\n")
add("runs of spaces:" + " " * 1 + "a" + " " * 2 + "b" + " " * 3 + "c" + " " * 7 + "d" + " " * 16 + "e" + " " * 33)
add("blank lines\n\n\n\nfour above\n\n\n\n\n\n\n\n\n\nten above\n \n \n")
add("numbers: 0 1 12 123 1234 12345 123456 1234567 12345678 123456789 1234567890 12345678901234567890 "
    "3.14159 -42 +7 1,000,000 1_000 0x1F 1e-9 ٣٤٥ ４５６ ⅷ ½")
add("contractions: I'm you're he's she'd we'll they've don't can't WON'T I'M YOU'RE HE'S SHE'D WE'LL "
    "THEY'VE DON'T It'S iT's 'tis 's 'S O'Neil rock'n'roll ’s ’S")
add("Ligatures ﬁ ﬂ, long s ſ 'ſ, Kelvin \u212a, ǅ titlecase, ß ẞ, İstanbul ı")
add("Français: où est la bibliothèque ? Ça coûte 5 € — « très » cher ! Élève, naïve, Noël.")
add("Deutsch: Größe, Straße, Äpfel, Übermäßig, ÖL.")
add("Русский: Съешь же ещё этих мягких французских булок, да выпей чаю. ПРИВЕТ МИР!")
add("Ελληνικά: Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. ΑΒΓΔ αβγδ ς.")
add("中文：我能吞下玻璃而不伤身体。你好，世界！「引号」『双引号』《书名》")
add("日本語: 私はガラスを食べられます。それは私を傷つけません。ｶﾀｶﾅ ﾊﾝｶｸ カタカナ ひらがな")
add("한국어: 나는 유리를 먹을 수 있어요. 그래도 아프지 않아요. 한글 자모 각")
add("العربية: أنا قادر على أكل الزجاج و هذا لا يؤلمني. ١٢٣ مرحبا")
add("עברית: אני יכול לאכול זכוכית וזה לא מזיק לי. שָׁלוֹם")
add("हिन्दी: मैं काँच खा सकता हूँ और मुझे उससे कोई चोट नहीं पहुंचती. क्षत्रिय")
add("ไทย: ฉันกินกระจกได้ แต่มันไม่ทำให้ฉันเจ็บ")
add("Tiếng Việt: Tôi có thể ăn thủy tinh mà không hại gì. Mỹ, Nguyễn, Đà Nẵng")
add("emoji: 😀 😂 👍 👍🏻 👍🏽 👍🏿 ❤️ ❤ ✨ 🎉 🇫🇷 🇯🇵 🏳️‍🌈 👩‍💻 👨‍👩‍👧‍👦 🧑🏾‍🚀 👩🏻‍❤️‍💋‍👨🏼 1️⃣ #️⃣ 🫠 🪿")
add("combining: e\u0301 a\u0300 n\u0303 o\u0308 u\u0308\u0301 A\u030a vs precomposed é à ñ ö ǘ Å; "
    "stacked x\u0301\u0302\u0303\u0304\u0305 Z\u0335\u0321\u031b\u0327\u0328a\u0358\u0359\u035c lg\u0308 "
    "hangul jamo \u1100\u1161\u11a8 and \uac01; Å (U+212B angstrom) Ω (U+2126 ohm)")
add("spaces: no-break\u00a0space, narrow\u202fnbsp, thin\u2009space, em\u2003space, ideographic\u3000space, "
    "zero\u200bwidth, zwnj\u200cjoiner\u200d, word\u2060joiner, bom\ufeffhere, ogham\u1680mark, "
    "line\u2028sep, para\u2029sep, nel\u0085x, vt\x0bff\x0cx, mongolian\u180evs, soft\u00adhyphen")
add("code:\ndef f(x):\n    return x**2 + 1  # comment\n\nfor (int i = 0; i < n; ++i) {\n\tprintf(\"%d\\n\", a[i]);\n}\n"
    "    if (a && b || !c) { x->y = z[0]; }\n// TODO: fix <html><body class=\"x\">&amp;</body></html>\n"
    "$ ls -la | grep '^d' > out.txt 2>&1\nSELECT * FROM t WHERE id=42;\n    \n        indented\n")
add("punctuation: ... !!! ??? ?!?! --- ___ *** ### /// \\\\ ~~~ ``` \"\"\" ''' ((( ))) [[[ ]]] {{{ }}} <<< >>> @@@ "
    "—– ‘single’ “double” „low“ ‹› «» ¿¡ § ¶ † ‡ • … ‰ ′ ″")
add("special-looking text: <|begin_of_text|> <|eot_id|><|end_of_text|>x<|im_start|>user\nhi<|im_end|>\n"
    "<|endoftext|> <think>reason</think> <|reserved_special_token_5|> <|notatoken|> <s> </s> <unk>")
add("math: ∀x∈ℝ, ∃y: x² + y² ≤ 1 ⇒ √(x²) ≠ ∞; ∑ᵢ aᵢ ∫₀¹ f(x)dx ≈ π ≅ 3.14; α→β ⊂ ℕ ℤ ℚ ℂ 𝔸 𝕏 𝒜")
add("urls: https://example.com/path?q=1&r=two#frag mailto:a.b@c.de C:\\Users\\me\\file.txt ../../x.py")
add("MiXeD CaSe WORDS and ALLCAPS SHOUTING and camelCaseIdentifiers and snake_case_names and kebab-case")
add("long word: " + "supercalifragilisticexpialidocious" * 3 + " " + "a" * 80 + " " + "ab" * 50)
add("repeated: " + "the " * 40 + "\n" + "=" * 64 + "\n" + "-" * 100 + "\n" + "." * 30)
add("digits run: " + "".join(str(i % 10) for i in range(1, 60)))
add("controls: \x00nul \x01 \x07bell \x1b[31mred\x1b[0m \x7f del")
add("astral: 𝐀𝐁𝐂 𐍈 𓀀 🀄 𝄞 music, old italic 𐌰𐌱, cuneiform 𒀀")
add(b"invalid utf-8: lone continuation \x80 here, overlong \xc0\xaf, truncated \xe2\x82 then text, "
    b"surrogate \xed\xa0\x80, beyond \xf4\x90\x80\x80, bad lead \xff\xfe, truncated 4-byte \xf0\x9f\x98 end, "
    b"mixed \xe2\x82\xac\xe2\x82 ok")
add(b"\xc3")
add(b"ends with truncated \xf0\x9f")
add(" ")
add("\n")
add("a")
add(" a")
add("\n\n x \n\n")
add("Multi-line\nparagraph with trailing spaces   \nand a final line without newline")

sep = b"\n\x1e\n"
out = sep.join(cases)
path = os.path.join(os.path.dirname(__file__), "fixtures", "tokenizer", "stress.txt")
with open(path, "wb") as f:
    f.write(out)
print(path, len(out), "bytes,", len(cases), "cases")
