#!/usr/bin/env node
// Times ONNX Runtime (onnxruntime-node, CPU) on one model for the evaluator benchmark
// (bench/evaluator_bench.cc), which runs it as a child process:
//
//   node bench/ort_time.js MODEL.onnx FEEDS.json --threads N --runs N [--warmup N]
//
// FEEDS.json: {"inputs": [{"name": "x", "dtype": 1, "dims": [1, 3, 224, 224], "file": "/abs/x.bin"}]}
// where each file holds the tensor's little-endian raw values and dtype is the ONNX
// TensorProto.DataType number (as in tests/ort/ort_server.js). The session is created once
// (its load time is reported apart), then `warmup` untimed runs and `runs` timed ones.
// Prints one JSON line: {"ort_version", "threads", "load_ms", "first_ms", "run_ms": [...], "median_ms"},
// first_ms being the session's first run (the first warm-up run, or the first timed one);
// on failure {"error": "..."} and exit status 1.
'use strict';

const fs = require('node:fs');

const ARRAYS = {
  1: ['float32', Float32Array], 6: ['int32', Int32Array], 7: ['int64', BigInt64Array],
  9: ['bool', Uint8Array], 10: ['float16', Uint16Array], 11: ['float64', Float64Array],
};

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

function loadFeeds(ort, path) {
  const feeds = {};
  for (const input of JSON.parse(fs.readFileSync(path, 'utf8')).inputs) {
    const [type, Array_] = ARRAYS[input.dtype] ?? [];
    if (!type) throw new Error(`input '${input.name}': unsupported dtype ${input.dtype}`);
    const bytes = fs.readFileSync(input.file);
    // A fresh ArrayBuffer: the file Buffer's offset may not suit the typed array's alignment.
    const aligned = new ArrayBuffer(bytes.length);
    new Uint8Array(aligned).set(bytes);
    feeds[input.name] = new ort.Tensor(type, new Array_(aligned), input.dims);
  }
  return feeds;
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function main() {
  const args = process.argv.slice(2);
  if (args.length < 2) throw new Error('usage: ort_time.js MODEL.onnx FEEDS.json --threads N --runs N [--warmup N]');
  const threads = option(args, '--threads', 1);
  const runs = option(args, '--runs', 5);
  const warmup = option(args, '--warmup', 1);
  const ort = require('onnxruntime-node');
  ort.env.logLevel = 'fatal';
  const feeds = loadFeeds(ort, args[1]);
  const loadStart = process.hrtime.bigint();
  const session = await ort.InferenceSession.create(args[0], {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
  });
  const loadMs = Number(process.hrtime.bigint() - loadStart) / 1e6;
  const timedRun = async () => {
    const start = process.hrtime.bigint();
    await session.run(feeds);
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  let firstMs = null;
  for (let i = 0; i < warmup; ++i) {
    const ms = await timedRun();
    firstMs ??= ms;
  }
  const runMs = [];
  for (let i = 0; i < runs; ++i) runMs.push(await timedRun());
  firstMs ??= runMs[0];
  await session.release();
  process.stdout.write(JSON.stringify({
    ort_version: ort.env.versions.node, threads, load_ms: loadMs, first_ms: firstMs, run_ms: runMs, median_ms: median(runMs),
  }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e && e.message ? e.message : e) }) + '\n');
  process.exit(1);
});
