/** Kubernetes resource quantities, parsed only as far as this repo needs: validating and summing requests. */

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
const decimalSuffixes: Record<string, number> = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

const cpuPattern = /^(\d+(?:\.\d+)?)(m?)$/;
const memoryPattern = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/;

/** CPU quantity ("250m", "2") in cores, or undefined when it is not a quantity. */
export function parseCpu(quantity: string): number | undefined {
  const m = cpuPattern.exec(quantity);
  if (!m) return undefined;
  const value = Number(m[1]);
  return m[2] === "m" ? value / 1000 : value;
}

/** Memory quantity ("256Mi", "2Gi", "1G") in bytes, or undefined when it is not a quantity. */
export function parseMemory(quantity: string): number | undefined {
  const m = memoryPattern.exec(quantity);
  if (!m) return undefined;
  const suffix = m[2];
  const factor = suffix === undefined ? 1 : (binarySuffixes[suffix] ?? decimalSuffixes[suffix] ?? Number.NaN);
  return Number(m[1]) * factor;
}

export function formatCpu(cores: number): string {
  return Number.isInteger(cores) ? `${cores}` : `${Math.round(cores * 1000)}m`;
}

export function formatMemory(bytes: number): string {
  const gi = bytes / 2 ** 30;
  if (gi >= 1) return `${Number.isInteger(gi) ? gi : gi.toFixed(2)}Gi`;
  return `${Math.round(bytes / 2 ** 20)}Mi`;
}
