/**
 * Writing generated files: all-or-nothing. Every owned folder is first staged beside its target, and only
 * when every file is staged are the folders swapped in; a failure before that leaves the tree untouched.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";

export interface Drift {
  path: string;
  state: "changed" | "missing" | "unexpected";
}

function walk(dir: string, root: string, into: string[]): void {
  if (!existsSync(dir)) return;
  for (const entry of readdirSync(dir).sort()) {
    const full = join(dir, entry);
    if (statSync(full).isDirectory()) walk(full, root, into);
    else into.push(relative(root, full));
  }
}

function ownerOf(path: string, owned: readonly string[]): string | undefined {
  return owned.find((r) => path === r || path.startsWith(`${r}/`));
}

/** Generated files that differ from what is on disk, and stray files inside owned folders. */
export function findDrift(root: string, files: ReadonlyMap<string, string>, owned: readonly string[]): Drift[] {
  const drift: Drift[] = [];
  for (const [path, content] of files) {
    const full = join(root, path);
    if (!existsSync(full)) drift.push({ path, state: "missing" });
    else if (readFileSync(full, "utf8") !== content) drift.push({ path, state: "changed" });
  }
  const onDisk: string[] = [];
  for (const r of owned) walk(join(root, r), root, onDisk);
  for (const path of onDisk) if (!files.has(path)) drift.push({ path, state: "unexpected" });
  return drift.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Replaces every owned folder (and writes loose files) with exactly `files`, atomically per folder. */
export function writeTree(root: string, files: ReadonlyMap<string, string>, owned: readonly string[]): void {
  const suffix = `.tmp-${process.pid}`;
  const staged: { target: string; temp: string }[] = [];
  try {
    for (const r of owned) {
      const temp = join(root, r + suffix);
      rmSync(temp, { recursive: true, force: true });
      mkdirSync(temp, { recursive: true });
      staged.push({ target: join(root, r), temp });
    }
    for (const [path, content] of files) {
      const r = ownerOf(path, owned);
      const full = r ? join(root, r + suffix, relative(r, path)) : join(root, path + suffix);
      if (!r) staged.push({ target: join(root, path), temp: full });
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, content);
    }
  } catch (e) {
    for (const s of staged) rmSync(s.temp, { recursive: true, force: true });
    throw e;
  }
  for (const { target, temp } of staged) {
    if (statSync(temp).isDirectory()) {
      const old = target + `.old-${process.pid}`;
      if (existsSync(target)) renameSync(target, old);
      mkdirSync(dirname(target), { recursive: true });
      renameSync(temp, target);
      rmSync(old, { recursive: true, force: true });
    } else {
      renameSync(temp, target);
    }
  }
}
