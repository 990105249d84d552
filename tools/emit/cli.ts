/**
 * `nx run overlays:emit`: builds every component from the site configuration and sizing table and writes
 * `base/`, `overlays/<tier>/` and the README's tier table. `--check` writes nothing and lists drift instead.
 */
import { parseCli, runCli } from "../cli/run.ts";
import { emit } from "./emit.ts";

await runCli("emit", () => emit(parseCli({
  site: { type: "string" },
  sizing: { type: "string" },
  out: { type: "string" },
  check: { type: "boolean", default: false },
})));
