#!/usr/bin/env node
// A --validate-cmd for `onnx-fp16 auto-mixed` that runs candidates in ONNX Runtime
// (onnxruntime-node, CPU), as a user deploying on ONNX Runtime would:
//
//   onnx-fp16 auto-mixed model.onnx out.onnx --input sample.npz --rtol 0.01 --atol 0.001 \
//       --validate-cmd "node tests/ort/validate_with_ort.js"
//
// Called as: validate_with_ort.js MODEL INPUT.npz OUTPUT.npz. Reads the inputs from an .npz
// (stored entries, as onnx-fp16 writes them), runs the model, writes every output to OUTPUT.npz.
// Self-contained: a minimal reader and writer of uncompressed .npz (a zip of .npy files).
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const DESCR = {
  '<f4': ['float32', Float32Array], '<f2': ['float16', Uint16Array], '<f8': ['float64', Float64Array],
  '<i8': ['int64', BigInt64Array], '<i4': ['int32', Int32Array], '|b1': ['bool', Uint8Array],
  '|u1': ['uint8', Uint8Array], '|i1': ['int8', Int8Array],
};
const DESCR_BY_TYPE = Object.fromEntries(Object.entries(DESCR).map(([d, [t]]) => [t, d]));

function parseNpy(bytes) {
  if (bytes.toString('latin1', 1, 6) !== 'NUMPY') throw new Error('not an .npy entry');
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString('latin1', start, start + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(',').map((s) => s.trim()).filter((s) => s).map(Number);
  if (/'fortran_order':\s*True/.test(header)) throw new Error('fortran order is not supported');
  const [type, ArrayType] = DESCR[descr] ?? [];
  if (!type) throw new Error(`unsupported dtype ${descr}`);
  const data = bytes.subarray(start + headerLength);
  const copy = new ArrayBuffer(data.length);
  new Uint8Array(copy).set(data);
  let values = new ArrayType(copy);
  if (type === 'bool') values = Array.from(values, (v) => v !== 0);
  return { type, values, shape };
}

function readNpz(file) {
  const zip = fs.readFileSync(file);
  const tensors = {};
  let at = 0;
  while (at + 30 <= zip.length && zip.readUInt32LE(at) === 0x04034b50) {
    const method = zip.readUInt16LE(at + 8);
    let size = zip.readUInt32LE(at + 18);
    const nameLength = zip.readUInt16LE(at + 26);
    const extraLength = zip.readUInt16LE(at + 28);
    const name = zip.toString('utf8', at + 30, at + 30 + nameLength);
    const extra = zip.subarray(at + 30 + nameLength, at + 30 + nameLength + extraLength);
    if (size === 0xffffffff) {
      // zip64: the sizes are in the extra field (id 1: uncompressed, then compressed size).
      for (let e = 0; e + 4 <= extra.length; e += 4 + extra.readUInt16LE(e + 2)) {
        if (extra.readUInt16LE(e) === 1) size = Number(extra.readBigUInt64LE(e + 12));
      }
    }
    if (method !== 0) throw new Error(`${file}: entry ${name} is compressed; only stored entries are read`);
    const dataStart = at + 30 + nameLength + extraLength;
    tensors[name.replace(/\.npy$/, '')] = parseNpy(zip.subarray(dataStart, dataStart + size));
    at = dataStart + size;
  }
  return tensors;
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function npyBytes(tensor) {
  const descr = DESCR_BY_TYPE[tensor.type];
  if (!descr) throw new Error(`output type ${tensor.type} is not supported`);
  const shape = tensor.dims.length === 1 ? `(${tensor.dims[0]},)` : `(${tensor.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  header += ' '.repeat(63 - ((10 + header.length) % 64)) + '\n';
  const prefix = Buffer.alloc(10);
  prefix.write('\x93NUMPY', 0, 'latin1');
  prefix[6] = 1;
  prefix.writeUInt16LE(header.length, 8);
  const data = tensor.type === 'bool' ? Buffer.from(Array.from(tensor.data, (v) => (v ? 1 : 0)))
                                      : Buffer.from(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return Buffer.concat([prefix, Buffer.from(header, 'latin1'), data]);
}

function writeNpz(file, tensors) {
  const locals = [];
  const centrals = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const fileName = Buffer.from(`${name}.npy`, 'utf8');
    const data = npyBytes(tensor);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(20, 4); local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(data.length, 22); local.writeUInt16LE(fileName.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(20, 4); central.writeUInt16LE(20, 6);
    central.writeUInt32LE(crc, 16); central.writeUInt32LE(data.length, 20); central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(fileName.length, 28); central.writeUInt32LE(offset, 42);
    locals.push(local, fileName, data);
    centrals.push(central, fileName);
    offset += 30 + fileName.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(centrals.length / 2, 8); end.writeUInt16LE(centrals.length / 2, 10);
  end.writeUInt32LE(directory.length, 12); end.writeUInt32LE(offset, 16);
  const temp = `${file}.tmp`;
  fs.writeFileSync(temp, Buffer.concat([...locals, directory, end]));
  fs.renameSync(temp, file);
}

async function main() {
  const [modelPath, inputPath, outputPath] = process.argv.slice(2);
  if (!outputPath) throw new Error('usage: validate_with_ort.js MODEL INPUT.npz OUTPUT.npz');
  const ort = require(path.join(__dirname, '..', '..', 'node_modules', 'onnxruntime-node'));
  const session = await ort.InferenceSession.create(modelPath, { intraOpNumThreads: 1 });
  const feeds = {};
  for (const [name, t] of Object.entries(readNpz(inputPath))) feeds[name] = new ort.Tensor(t.type, t.values, t.shape);
  const results = await session.run(feeds);
  const outputs = {};
  for (const name of session.outputNames) outputs[name] = results[name];
  writeNpz(outputPath, outputs);
}

main().catch((e) => {
  process.stderr.write(`validate_with_ort.js: ${e.message}\n`);
  process.exit(1);
});
