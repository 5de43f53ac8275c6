/** Samples, medians and the table the benchmark prints. */

export type Better = 'higher' | 'lower';

export interface Metric {
  workload: string;
  metric: string;
  unit: string;
  better: Better;
  /** contender → samples (one per round, or many for latencies). */
  samples: Map<string, number[]>;
}

/** How workloads hand their samples to the table. */
export type RecordFn = (workload: string, metric: string, unit: string, better: Better, contender: string, ...values: number[]) => void;

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0–100). */
export function percentile(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export function fmt(value: number): string {
  if (!Number.isFinite(value)) return '—';
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** How much better edgejobs is than the best other contender (>1: edgejobs ahead). */
export function advantage(metric: Metric, self = 'edgejobs'): number | null {
  const own = metric.samples.get(self);
  const others = [...metric.samples.entries()].filter(([name, s]) => name !== self && s.length);
  if (!own?.length || others.length === 0) return null;
  const mine = median(own);
  const best = metric.better === 'higher' ? Math.max(...others.map(([, s]) => median(s))) : Math.min(...others.map(([, s]) => median(s)));
  if (metric.better === 'higher') return best === 0 ? null : mine / best;
  return mine === 0 ? null : best / mine;
}

export function table(metrics: Metric[], contenders: string[]): string {
  const head = `| workload | metric | ${contenders.join(' | ')} | edgejobs vs best other |`;
  const rule = `|---|---|${contenders.map(() => '---:').join('|')}|---:|`;
  const rows = metrics.map((m) => {
    const cells = contenders.map((c) => {
      const s = m.samples.get(c);
      if (!s?.length) return '—';
      return s.length === 1 ? fmt(s[0]!) : `${fmt(median(s))} (${fmt(Math.min(...s))}–${fmt(Math.max(...s))})`;
    });
    const adv = advantage(m);
    return `| ${m.workload} | ${m.metric} [${m.unit}, ${m.better} is better] | ${cells.join(' | ')} | ${adv === null ? '—' : `${adv.toFixed(2)}×`} |`;
  });
  return [head, rule, ...rows].join('\n');
}
