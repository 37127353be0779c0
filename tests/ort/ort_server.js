#!/usr/bin/env node
// ONNX Runtime reference server for the onnx-fp16 tests (client: tests/support/ort_client.cc).
//
// One long-lived process serves many requests, because starting node and loading ORT costs far
// more than running a small test model. Requests and responses are single JSON lines:
//
//   request:  {"id": 7, "op": "run", "model": "/abs/model.onnx", "optimization": "all",
//              "inputs": [{"name": "x", "dtype": 1, "dims": [2, 3], "data": "<base64>"}]}
//             {"id": 8, "op": "load", "model": "/abs/model.onnx", "optimization": "disabled"}
//   response: {"id": 7, "outputs": [<tensor>, ...]}      every graph output, in graph order
//             {"id": 8, "ok": true, "inputs": [names], "outputs": [names]}
//             {"id": n, "error": "message"}
//
// A tensor's dtype is the ONNX TensorProto.DataType number; data is the base64 of its
// little-endian raw bytes (bool: one byte per value), except for strings (dtype 8), whose data
// is a JSON array holding the base64 of each string's bytes. Base64 keeps binary data safe inside
// a line-oriented protocol. "optimization" is one of disabled, basic, extended, all (default).
//
// At start the server prints {"ready": true, "ort_version": "..."} or, when onnxruntime-node
// cannot be loaded, {"fatal": "message"} and exits with status 2. A failing request answers with
// an error and the server goes on; it ends when its stdin closes.
'use strict';

const readline = require('node:readline');

function reply(message) {
  process.stdout.write(JSON.stringify(message) + '\n');
}

let ort;
try {
  ort = require('onnxruntime-node');
} catch (e) {
  reply({ fatal: `cannot load onnxruntime-node: ${e.message}` });
  process.exit(2);
}

// ONNX TensorProto.DataType -> ORT's tensor type name and the typed array holding its values.
const DTYPES = {
  1: { ort: 'float32', array: Float32Array },
  2: { ort: 'uint8', array: Uint8Array },
  3: { ort: 'int8', array: Int8Array },
  4: { ort: 'uint16', array: Uint16Array },
  5: { ort: 'int16', array: Int16Array },
  6: { ort: 'int32', array: Int32Array },
  7: { ort: 'int64', array: BigInt64Array },
  8: { ort: 'string', array: null },
  9: { ort: 'bool', array: Uint8Array },
  10: { ort: 'float16', array: Uint16Array },
  11: { ort: 'float64', array: Float64Array },
  12: { ort: 'uint32', array: Uint32Array },
  13: { ort: 'uint64', array: BigUint64Array },
};
const DTYPE_BY_ORT_NAME = Object.fromEntries(Object.entries(DTYPES).map(([number, t]) => [t.ort, Number(number)]));

ort.env.logLevel = 'fatal';

const OPTIMIZATION_LEVELS = new Set(['disabled', 'basic', 'extended', 'all']);

function decodeTensor(wire) {
  const type = DTYPES[wire.dtype];
  if (!type) throw new Error(`input '${wire.name}': unsupported ONNX dtype ${wire.dtype}`);
  const dims = wire.dims.map(Number);
  if (type.array === null) {
    const strings = wire.data.map((b64) => Buffer.from(b64, 'base64').toString('utf8'));
    return new ort.Tensor('string', strings, dims);
  }
  const bytes = Buffer.from(wire.data, 'base64');
  if (bytes.length % type.array.BYTES_PER_ELEMENT !== 0) {
    throw new Error(`input '${wire.name}': ${bytes.length} bytes is not a whole number of ${type.ort} values`);
  }
  // Copy into a fresh ArrayBuffer: a Buffer may sit at an offset that the typed array's
  // alignment does not allow.
  const aligned = new ArrayBuffer(bytes.length);
  new Uint8Array(aligned).set(bytes);
  return new ort.Tensor(type.ort, new type.array(aligned), dims);
}

function encodeTensor(name, value) {
  if (!(value instanceof ort.Tensor)) {
    throw new Error(`output '${name}' is not a tensor (sequences and maps are not supported)`);
  }
  const dtype = DTYPE_BY_ORT_NAME[value.type];
  if (dtype === undefined) throw new Error(`output '${name}' has unsupported type ${value.type}`);
  const dims = Array.from(value.dims, Number);
  if (dtype === 8) {
    return { name, dtype, dims, data: value.data.map((s) => Buffer.from(s, 'utf8').toString('base64')) };
  }
  const data = value.data;
  return { name, dtype, dims, data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('base64') };
}

async function createSession(request) {
  const optimization = request.optimization ?? 'all';
  if (!OPTIMIZATION_LEVELS.has(optimization)) throw new Error(`unknown optimization level '${optimization}'`);
  if (typeof request.model !== 'string') throw new Error('request has no model path');
  // One thread each: tests run in parallel on few cores, and results must not depend on
  // how work is split between threads.
  return ort.InferenceSession.create(request.model, {
    executionProviders: ['cpu'],
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: optimization,
    // ORT's own log would repeat on stderr the errors that the reply already carries.
    logSeverityLevel: 4,
  });
}

async function withSession(request, use) {
  const session = await createSession(request);
  try {
    return await use(session);
  } finally {
    await session.release();
  }
}

async function handleLoad(request) {
  return withSession(request, async (session) => ({
    ok: true,
    inputs: session.inputNames,
    outputs: session.outputNames,
  }));
}

async function handleRun(request) {
  return withSession(request, async (session) => {
    const feeds = {};
    for (const wire of request.inputs ?? []) feeds[wire.name] = decodeTensor(wire);
    const results = await session.run(feeds);
    return { outputs: session.outputNames.map((name) => encodeTensor(name, results[name])) };
  });
}

const HANDLERS = { run: handleRun, load: handleLoad };

async function handleLine(line) {
  let id = null;
  try {
    const request = JSON.parse(line);
    id = request.id ?? null;
    const handler = HANDLERS[request.op];
    if (!handler) throw new Error(`unknown op '${request.op}'`);
    reply({ id, ...(await handler(request)) });
  } catch (e) {
    reply({ id, error: String(e && e.message ? e.message : e) });
  }
}

// A stray rejection or exception must not take the server down with the requests still to come.
process.on('unhandledRejection', (e) => process.stderr.write(`ort_server: unhandled rejection: ${e}\n`));
process.on('uncaughtException', (e) => process.stderr.write(`ort_server: uncaught exception: ${e}\n`));

// Requests are answered one at a time, in order: the chain serialises them.
let queue = Promise.resolve();
const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() === '') return;
  queue = queue.then(() => handleLine(line));
});
lines.on('close', () => queue.then(() => process.exit(0)));

reply({ ready: true, ort_version: ort.env.versions.node });
