'use strict';
// stress_cases.js — the stress corpus (tests/fixtures/tokenizer/stress.txt) split into its cases: they are
// separated by "\n\x1e\n" (a record separator on a line of its own). Shared by make_tok_refs.js and
// make_tiktoken_refs.js, so both reference generators cut the corpus the same way llq's tests do.
function splitCases(buf) {
    const sep = Buffer.from('\n\x1e\n', 'latin1');
    const out = [];
    let from = 0;
    for (;;) {
        const i = buf.indexOf(sep, from);
        if (i < 0) { out.push(buf.subarray(from)); break; }
        out.push(buf.subarray(from, i));
        from = i + sep.length;
    }
    return out;
}

module.exports = { splitCases };
