/** The pinned promtool (built from the Go module proxy on first use), run with a bounded time. */
import { spawnSync } from "node:child_process";
import { ensureGoTool } from "../../tools/validate/go-tools.ts";

let binary: string | undefined;

/** Builds promtool if needed: call it from a `beforeAll` with a long timeout (the first build takes minutes). */
export function ensurePromtool(): string {
  binary ??= ensureGoTool("promtool");
  return binary;
}

export function promtool(args: string[]): { status: number | null; output: string } {
  const r = spawnSync(ensurePromtool(), args, { encoding: "utf8", timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}
