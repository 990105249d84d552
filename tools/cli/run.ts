/** Shared entry-point wrapper: configuration errors become a clear message and a non-zero exit. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { ConfigError } from "../../apps/site/errors.ts";

export function parseCli<T extends ParseArgsConfig["options"]>(options: T, argv = process.argv.slice(2)) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (e) {
    throw new ConfigError([{ field: "arguments", message: (e as Error).message }]);
  }
}

export async function runCli(name: string, main: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await main();
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`${name}: invalid configuration:`);
      for (const issue of e.issues) console.error(`  ${issue.field}: ${issue.message}`);
    } else {
      console.error(`${name}: ${(e as Error).stack ?? String(e)}`);
    }
    process.exitCode = 1;
  }
}
