// llama_speed.mjs — llama.cpp's side of the side-by-side speed benchmark (bench/vs_llama.sh; llq's side is
// bench/side_llq.c, which measures the same two things the same way), through node-llama-cpp 3.21.1 (prebuilt
// llama.cpp, CPU; it loads the CPU variant that fits the machine):
//   node llama_speed.mjs MODEL.gguf TOKENS THREADS WINDOWS GEN [FA]
// prints "ppl TOKENS/S gen TOKENS/S": perplexity-style prompt processing (context 256, batch 256, the first WINDOWS
// windows of 256 tokens of TOKENS — little-endian uint32 ids —, each window from an empty cache in one batch with the
// logits of every position, as llama-perplexity asks for them), and one-token generation (greedy, after an 8-token
// prompt, GEN tokens, each its own batch of one), both wall clock after loading. FA: flash attention on|off|auto
// (default off, node-llama-cpp's default).
import {getLlama} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [modelPath, tokPath, threadsArg, windowsArg, genArg, faArg] = process.argv.slice(2);
const threads = Number(threadsArg), windows = Number(windowsArg), gen = Number(genArg), ctxLen = 256;
const fa = faArg === "on" ? true : faArg === "auto" ? "auto" : false;
const buf = readFileSync(tokPath);
const tokens = Array.from({length: buf.length / 4}, (_, i) => buf.readUInt32LE(4 * i));
if (tokens.length < windows * ctxLen)
    throw new Error(`${tokPath}: ${tokens.length} tokens, fewer than ${windows} windows of ${ctxLen}`);

const llama = await getLlama({gpu: false, build: "never", logLevel: "error", maxThreads: threads});
const model = await llama.loadModel({modelPath});
const ctx = await model.createContext({contextSize: ctxLen, batchSize: ctxLen, threads: {ideal: threads, min: threads},
                                       flashAttention: fa});
const seq = ctx.getSequence();
const greedy = {temperature: 0};

// a window: every position asks for its next token (the logits of all 256 positions are computed, as for ppl)
const window = w => tokens.slice(w * ctxLen, (w + 1) * ctxLen).map(t => [t, {generateNext: {token: true, options: greedy}}]);
await seq.controlledEvaluate(window(0).slice(0, 16)); // warm-up: buffers, threads
await seq.clearHistory();
let t0 = performance.now();
for (let w = 0; w < windows; w++) {
    await seq.clearHistory();
    await seq.controlledEvaluate(window(w));
}
const pplTps = windows * ctxLen / ((performance.now() - t0) / 1000);

await seq.clearHistory();
let out = await seq.controlledEvaluate(tokens.slice(0, 8).map((t, i) => i === 7 ? [t, {generateNext: {token: true, options: greedy}}] : t));
let next = out[7].next.token;
t0 = performance.now();
for (let i = 0; i < gen; i++) {
    out = await seq.controlledEvaluate([[next, {generateNext: {token: true, options: greedy}}]]);
    next = out[0].next.token;
}
const genTps = gen / ((performance.now() - t0) / 1000);
console.log(`ppl ${pplTps.toFixed(2)} gen ${genTps.toFixed(2)}`);
await ctx.dispose();
await model.dispose();
