// llama_kld.mjs — KL divergence of a quantized GGUF against its base GGUF, computed from llama.cpp's own
// next-token distributions (node-llama-cpp 3.21.1: prebuilt llama.cpp, CPU), in llama-perplexity's protocol:
//   node llama_kld.mjs BASE.gguf QUANT.gguf TEXTFILE [CTX [CHUNKS [THREADS]]]
// The text is tokenized by llama.cpp (BOS first) and cut into CTX-token windows from the start (whole windows only;
// CHUNKS: only the first ones); each window's first token becomes BOS and positions CTX/2 .. CTX-2 are scored (the
// distribution of the token after each), as llama-perplexity --kl-divergence does. Both models evaluate the same
// windows; per position KL(base || quant) = Σ p_b·(log p_b − log p_q) over the vocabulary, from the probabilities
// llama.cpp returns with temperature 1 and no truncation (softmax of its logits). Prints one JSON object: windows,
// scored positions, perplexity of each model, mean KLD with its standard error, median, 99th percentile, maximum,
// and the share of positions where both models rank the same token first (llama-perplexity's "same top p").
import {getLlama} from "node-llama-cpp";
import {readFileSync} from "node:fs";

const [basePath, quantPath, textPath, ctxArg, chunksArg, threadsArg] = process.argv.slice(2);
if (!textPath) {
    console.error("usage: node llama_kld.mjs BASE.gguf QUANT.gguf TEXTFILE [CTX [CHUNKS [THREADS]]]");
    process.exit(2);
}
const ctxLen = Number(ctxArg ?? 256), threads = Number(threadsArg ?? 2);
const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
const base = await llama.loadModel({modelPath: basePath});
const quant = await llama.loadModel({modelPath: quantPath});
const text = readFileSync(textPath, "utf8");
const bos = base.tokens.bos;
const tokens = [bos, ...base.tokenize(text, false)];
let nChunks = Math.floor(tokens.length / ctxLen);
if (chunksArg !== undefined && Number(chunksArg) > 0)
    nChunks = Math.min(nChunks, Number(chunksArg));
const vocab = base.fileInfo.metadata?.tokenizer?.ggml?.tokens?.length;
if (!(vocab > 0)) {
    console.error("llama_kld.mjs: no vocabulary size in " + basePath);
    process.exit(1);
}
const opts = {temperature: 1, topK: 0, topP: 1, minP: 0};
const first = ctxLen >> 1;

async function openSeq(model) {
    const ctx = await model.createContext({contextSize: ctxLen, batchSize: ctxLen, threads, flashAttention: false});
    return {ctx, seq: ctx.getSequence()};
}
// log-probabilities of the next token at positions first .. ctxLen-2 of one window (Float64Array per position)
async function logProbs(s, win) {
    await s.seq.clearHistory();
    const items = win.map((t, j) => j >= first && j < ctxLen - 1
        ? [t, {generateNext: {probabilities: true, options: opts}}] : t);
    const out = await s.seq.controlledEvaluate(items);
    const res = [];
    for (let j = first; j < ctxLen - 1; j++) {
        const lp = new Float64Array(vocab).fill(-Infinity);
        for (const [tok, p] of out[j].next.probabilities)
            if (tok < vocab && p > 0)
                lp[tok] = Math.log(p);
        res.push(lp);
    }
    return res;
}

const t0 = Date.now();
const sb = await openSeq(base), sq = await openSeq(quant);
const klds = [];
let nllB = 0, nllQ = 0, same = 0;
for (let c = 0; c < nChunks; c++) {
    const win = tokens.slice(c * ctxLen, (c + 1) * ctxLen);
    win[0] = bos;
    const lb = await logProbs(sb, win), lq = await logProbs(sq, win);
    for (let k = 0; k < lb.length; k++) {
        const a = lb[k], b = lq[k], next = win[first + k + 1];
        let kl = 0, ia = 0, ib = 0;
        for (let v = 0; v < vocab; v++) {
            if (a[v] > a[ia]) ia = v;
            if (b[v] > b[ib]) ib = v;
            if (a[v] === -Infinity)
                continue;
            kl += Math.exp(a[v]) * (a[v] - (b[v] === -Infinity ? -745 : b[v]));
        }
        klds.push(kl);
        nllB -= a[next];
        nllQ -= b[next];
        same += ia === ib;
    }
}
const n = klds.length;
const mean = klds.reduce((s, x) => s + x, 0) / n;
const sd = Math.sqrt(klds.reduce((s, x) => s + (x - mean) * (x - mean), 0) / (n - 1));
const sorted = Float64Array.from(klds).sort();
const q = (f) => sorted[Math.min(n - 1, Math.floor(f * (n - 1) + 0.5))];
console.log(JSON.stringify({
    base: basePath, quant: quantPath, text: textPath, ctx: ctxLen, windows: nChunks, scored: n,
    ppl_base: Math.exp(nllB / n), ppl_quant: Math.exp(nllQ / n),
    kld_mean: mean, kld_se: sd / Math.sqrt(n), kld_median: q(0.5), kld_p99: q(0.99), kld_max: sorted[n - 1],
    same_top_pct: 100 * same / n, seconds: (Date.now() - t0) / 1000,
}, null, 1));
await sb.ctx.dispose();
await sq.ctx.dispose();
await base.dispose();
await quant.dispose();
