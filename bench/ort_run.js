#!/usr/bin/env node
// Runs ONNX Runtime (onnxruntime-node, CPU) once on each of several models with the same
// inputs and writes their outputs, for the mixed-precision benchmark (bench/mixed_bench.cc),
// which compares them with the float32 model's:
//
//   node bench/ort_run.js FEEDS.json OUT_DIR MODEL.onnx [MODEL.onnx ...] [--threads N]
//
// FEEDS.json is bench/ort_time.js's format ({"inputs": [{"name", "dtype", "dims", "file"}]}).
// Model i's output j goes to OUT_DIR/<i>_<j>.bin (little-endian raw values). Prints one JSON
// line: {"ort_version", "models": [{"outputs": [{"name", "dtype", "dims", "file"}]} or
// {"error": "..."}, ...]}; when ORT itself cannot be used, {"error": "..."} and exit status 1.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const DTYPES = {
  1: ['float32', Float32Array], 2: ['uint8', Uint8Array], 3: ['int8', Int8Array], 6: ['int32', Int32Array],
  7: ['int64', BigInt64Array],
  9: ['bool', Uint8Array], 10: ['float16', Uint16Array], 11: ['float64', Float64Array],
};
const DTYPE_BY_ORT_NAME = Object.fromEntries(Object.entries(DTYPES).map(([n, [name]]) => [name, Number(n)]));

function loadFeeds(ort, file) {
  const feeds = {};
  for (const input of JSON.parse(fs.readFileSync(file, 'utf8')).inputs) {
    const [type, Array_] = DTYPES[input.dtype] ?? [];
    if (!type) throw new Error(`input '${input.name}': unsupported dtype ${input.dtype}`);
    const bytes = fs.readFileSync(input.file);
    const aligned = new ArrayBuffer(bytes.length);
    new Uint8Array(aligned).set(bytes);
    feeds[input.name] = new ort.Tensor(type, new Array_(aligned), input.dims);
  }
  return feeds;
}

async function runModel(ort, model, feeds, outDir, index, threads) {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    logSeverityLevel: 4,
  });
  try {
    const results = await session.run(feeds);
    const outputs = session.outputNames.map((name, j) => {
      const value = results[name];
      const dtype = DTYPE_BY_ORT_NAME[value.type];
      if (dtype === undefined) throw new Error(`output '${name}' has unsupported type ${value.type}`);
      const file = path.resolve(outDir, `${index}_${j}.bin`);
      const data = value.data;
      fs.writeFileSync(file, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
      return { name, dtype, dims: Array.from(value.dims, Number), file };
    });
    return { outputs };
  } finally {
    await session.release();
  }
}

async function main() {
  const args = process.argv.slice(2);
  let threads = 1;
  const t = args.indexOf('--threads');
  if (t >= 0) {
    threads = Number(args[t + 1]);
    args.splice(t, 2);
  }
  if (args.length < 3) throw new Error('usage: ort_run.js FEEDS.json OUT_DIR MODEL.onnx [MODEL.onnx ...] [--threads N]');
  const ort = require('onnxruntime-node');
  ort.env.logLevel = 'fatal';
  const feeds = loadFeeds(ort, args[0]);
  fs.mkdirSync(args[1], { recursive: true });
  const models = [];
  for (let i = 2; i < args.length; ++i) {
    try {
      models.push(await runModel(ort, args[i], feeds, args[1], i - 2, threads));
    } catch (e) {
      models.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  process.stdout.write(JSON.stringify({ ort_version: ort.env.versions.node, models }) + '\n');
}

main().catch((e) => {
  process.stdout.write(JSON.stringify({ error: String(e && e.message ? e.message : e) }) + '\n');
  process.exit(1);
});
