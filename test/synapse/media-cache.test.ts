/**
 * The media pods' cache pruner, as rendered, run by a real `sh` and `find` on a directory laid out like
 * Synapse's local store: what has not changed for an hour goes (files, then empty directories), the rest
 * stays. Synapse serves a pruned item from S3 again (test/e2e/ccu-1k.e2e.ts).
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderOverlay, tempDir } from "../support/repo.ts";
import { synapseWorkloads } from "../support/synapse-processes.ts";

describe("the media cache pruner", () => {
  it("deletes files and empty directories untouched for an hour, and nothing newer", async () => {
    const media = synapseWorkloads(await renderOverlay("ccu-1k")).find((w) => w.name === "synapse-media");
    const containers = (media?.object.spec as { template: { spec: { containers: { name: string; command: string[]; volumeMounts: { mountPath: string }[] }[] } } }).template.spec.containers;
    const pruner = containers.find((c) => c.name === "media-cache-pruner");
    if (!pruner) throw new Error("no media-cache-pruner container");
    const store = pruner.volumeMounts[0]?.mountPath as string;
    const root = tempDir("media-cache");
    const at = (p: string) => join(root, p);
    const old = new Date(Date.now() - 61 * 60_000);
    const recent = new Date(Date.now() - 59 * 60_000);
    const file = (p: string, time: Date) => { mkdirSync(join(at(p), ".."), { recursive: true }); writeFileSync(at(p), "x"); utimesSync(at(p), time, time); };
    file("local_content/ab/cd/old", old);
    file("local_content/ab/cd/recent", recent);
    file("remote_content/example.org/ef/gh/old", old);
    file("local_thumbnails/ij/kl/mnop/32-32-image-png", recent);
    mkdirSync(at("local_content/zz/yy"), { recursive: true });
    mkdirSync(at("local_content/new/dir"), { recursive: true });
    // Directory times last, children before parents: each directory's own age as set here.
    for (const [p, t] of [["local_content/zz/yy", old], ["local_content/zz", old], ["remote_content/example.org/ef/gh", recent], ["local_content/new/dir", recent]] as const) utimesSync(at(p), t, t);

    const [shell, flag, script] = pruner.command as [string, string, string];
    const child = spawn(shell, [flag, script.replaceAll(store, root)], { stdio: "ignore" });
    try {
      // One pass of the loop (it then sleeps for minutes): bounded wait for its result.
      for (let i = 0; i < 50 && (existsSync(at("local_content/ab/cd/old")) || existsSync(at("local_content/zz/yy"))); i++) await new Promise((r) => setTimeout(r, 100));
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      if (child.pid) process.kill(child.pid, "SIGTERM");
    }
    const present = (p: string) => existsSync(at(p));
    expect({
      oldFile: present("local_content/ab/cd/old"),
      oldRemoteFile: present("remote_content/example.org/ef/gh/old"),
      oldEmptyDir: present("local_content/zz/yy"),
      recentFile: present("local_content/ab/cd/recent"),
      recentThumbnail: present("local_thumbnails/ij/kl/mnop/32-32-image-png"),
      recentEmptyDir: present("local_content/new/dir"),
      emptiedRecentDir: present("remote_content/example.org/ef/gh"),
      storeItself: present(""),
    }).toEqual({
      oldFile: false, oldRemoteFile: false, oldEmptyDir: false,
      recentFile: true, recentThumbnail: true, recentEmptyDir: true, emptiedRecentDir: true, storeItself: true,
    });
  });
});
