#!/bin/sh
# scale-7b.sh — computes README.md's "real 7B/8B checkpoint" table from measured throughput figures.
# The figures are inputs (edit them after a new `make bench`; sources in README.md); nothing here is measured.
# Usage: scripts/scale-7b.sh   (prints the markdown rows of the computed table)
awk '
BEGIN {
    # ---- inputs (README.md "Inputs" table) ----
    conv     = 1.2e9   # llq-convert bf16 -> bf16, bytes/s wall on the idle VM, low end (docs/TOOLS.md, bench/convert.c)
    disk     = 166e6   # llq-convert onto the VM disk (ext4), bytes/s (docs/TOOLS.md)
    rtn_q8   = 2140e6  # RTN q8 g32, f32 bytes/s on 1 thread, quiet VM, low end (docs/QUANTIZATION.md, bench/quant.c)
    rtn_q4   = 1399e6  # RTN q4 g128, f32 bytes/s on 1 thread, quiet VM, low end (docs/QUANTIZATION.md)
    cores    = 2       # RTN threads take chunks of rows from a shared counter
    H1 = 24.4; G1 = 46.3; A1 = 41.9  # one 4096x4096 matrix, 65,536 tokens, 1 thread, idle: X^T X, GPTQ, AWQ (s; bench_calib)
    tok      = 128 * 256              # default calibration tokens (--calib-samples 128 --calib-ctx 256)
    ppl378   = 158     # bench/eval.c bf16 ppl tokens/s wall, 2 threads, quiet VM, median of 3 runs (127-163), 378 M shape
    P378     = 377.5e6 - 4096 * 2048  # its parameters in matmuls (all but the embedding lookup)
    bw       = 17.5e9 * 0.85          # 2-thread read bandwidth (issue 4) x the bf16 generation efficiency (83-94 % of a same-round read)
    chunks   = 40 * 512               # drift / ppl on 40 windows of 512 tokens
    split("7B 8B", name, " ")
    dimv["7B"] = 4096; ffn["7B"] = 11008; kv["7B"] = 4096; voc["7B"] = 32000
    dimv["8B"] = 4096; ffn["8B"] = 14336; kv["8B"] = 1024; voc["8B"] = 128256
    for (i = 1; i <= 2; i++) {
        m = name[i]; d = dimv[m]; f = ffn[m]; V = voc[m]; L = 32
        per = 2 * d * d + 2 * kv[m] * d + 3 * d * f; P = L * per + 2 * V * d
        bf = 2 * P; q8 = P * 8.5 / 8; q4 = L * per * 4.125 / 8 + 2 * V * d * 8.25 / 8
        r = f / d
        h = (3 + r * r) * H1 * tok / 65536; g = (2 + 2 * kv[m] / d + 2 * r + r * r) * G1; a = (6 + r) * A1 * tok / 65536
        cal = (h + g + a) * L + (V / d) * G1 + H1 * tok / 65536
        calmem = tok * d * 4 + (3 * d * d + f * f) * 8 + per * 4 + q4
        tps = ppl378 * P378 / (P - V * d)
        printf "| %s: %.2f B params, bf16 %.1f GB, largest tensor %.2f GB |\n", m, P / 1e9, bf / 1e9, 2 * V * d / 1e9
        printf "| convert | %.0f s of CPU; %.0f s at the disk speed | about the largest tensor: %.2f GB |\n", bf / conv, bf / disk, 2 * V * d / 1e9
        printf "| quantize q8 g32 RTN | %.0f s of CPU (%.0f s on %d cores), output %.1f GB | ~64 MB of rows + page cache |\n", 4 * P / rtn_q8, 4 * P / rtn_q8 / cores, cores, q8 / 1e9
        printf "| quantize q4 g128 RTN | %.0f s of CPU (%.0f s on %d cores), output %.1f GB | ~64 MB of rows + page cache |\n", 4 * P / rtn_q4, 4 * P / rtn_q4 / cores, cores, q4 / 1e9
        printf "| quantize awq+gptq q4 g128 | %.1f h on one core (per layer: XtX %.0f s, GPTQ %.0f s, AWQ <= %.0f s) | ~%.1f GB (estimate) |\n", cal / 3600, h, g, a, calmem / 1e9
        printf "| ppl bf16, %d tokens | %.1f tokens/s: %.0f min | %.1f GB (the model) |\n", chunks, tps, chunks / tps / 60, bf / 1e9
        printf "| drift bf16 vs q4, %d tokens | %.0f min (two forward passes) | %.1f GB (both models) |\n", chunks, 2 * chunks / tps / 60, (bf + q4) / 1e9
        printf "| generate | bf16 %.1f tokens/s, q4 %.1f tokens/s (bandwidth bound) | %.1f / %.1f GB |\n", bw / (bf - 2 * V * d), bw / (q4 - V * d * 8.25 / 8), bf / 1e9, q4 / 1e9
    }
}'
