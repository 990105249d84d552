/** HAProxy's CSV statistics (`/stats;csv` on the stats listener) as rows, read by column name. */
export interface StatsRow {
  /** Frontend or backend name. */
  proxy: string;
  /** Server name, or `FRONTEND` / `BACKEND` for the proxy's own row. */
  server: string;
  status: string;
  /** Current sessions. */
  sessions: number;
}

/** The rows, or none when the statistics do not answer within 2 s. */
export async function readStats(url: string): Promise<StatsRow[]> {
  const csv = await fetch(url, { signal: AbortSignal.timeout(2000) }).then((r) => r.text()).catch(() => "");
  const lines = csv.split("\n").filter((l) => l.length > 0);
  const header = (lines[0] ?? "").replace(/^# /, "").split(",");
  const col = (name: string) => header.indexOf(name);
  const [proxy, server, status, sessions] = [col("pxname"), col("svname"), col("status"), col("scur")];
  return lines.slice(1).map((l) => l.split(",")).map((f) => ({
    proxy: f[proxy] ?? "", server: f[server] ?? "", status: f[status] ?? "", sessions: Number(f[sessions] ?? 0),
  }));
}
