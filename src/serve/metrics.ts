/**
 * A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text
 * exposition format (version 0.0.4). Values that live elsewhere (the judge's execution counter, the
 * queue's depth) are read when the registry is rendered.
 */

export type Labels = Record<string, string>;

interface Metric {
  readonly name: string;
  render(): string;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

function numberText(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return Number.isNaN(value) ? 'NaN' : String(value);
}

function header(name: string, help: string, type: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** Series keyed by their label set (labels in the order the caller gave them). */
class Series<T> {
  private readonly byKey = new Map<string, { labels: Labels; value: T }>();

  constructor(private readonly create: () => T) {}

  get(labels: Labels): T {
    const key = JSON.stringify(labels);
    let entry = this.byKey.get(key);
    if (!entry) {
      entry = { labels: { ...labels }, value: this.create() };
      this.byKey.set(key, entry);
    }
    return entry.value;
  }

  entries(): Iterable<{ labels: Labels; value: T }> {
    return this.byKey.values();
  }
}

export class Counter implements Metric {
  private readonly series = new Series(() => ({ n: 0 }));

  constructor(readonly name: string, private readonly help: string) {}

  inc(labels: Labels = {}, by = 1): void {
    this.series.get(labels).n += by;
  }

  value(labels: Labels = {}): number {
    return this.series.get(labels).n;
  }

  render(): string {
    let out = header(this.name, this.help, 'counter');
    for (const { labels, value } of this.series.entries()) out += `${this.name}${labelText(labels)} ${numberText(value.n)}\n`;
    return out;
  }
}

/** A value read at scrape time: a gauge, or a counter kept by another object. */
export class Collected implements Metric {
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: 'gauge' | 'counter',
    private readonly read: () => number,
  ) {}

  render(): string {
    return `${header(this.name, this.help, this.type)}${this.name} ${numberText(this.read())}\n`;
  }
}

export class Histogram implements Metric {
  private readonly series: Series<{ counts: number[]; sum: number; count: number }>;

  /** `buckets`: upper bounds, increasing; `+Inf` is added. */
  constructor(readonly name: string, private readonly help: string, readonly buckets: readonly number[]) {
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`histogram ${name}: buckets must increase`);
    }
    this.series = new Series(() => ({ counts: new Array<number>(buckets.length).fill(0), sum: 0, count: 0 }));
  }

  observe(value: number, labels: Labels = {}): void {
    const s = this.series.get(labels);
    s.sum += value;
    s.count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= this.buckets[i]) {
        s.counts[i]++;
        break;
      }
    }
  }

  render(): string {
    let out = header(this.name, this.help, 'histogram');
    for (const { labels, value } of this.series.entries()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += value.counts[i];
        out += `${this.name}_bucket${labelText(labels, ['le', numberText(bound)])} ${cumulative}\n`;
      });
      out += `${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${value.count}\n`;
      out += `${this.name}_sum${labelText(labels)} ${numberText(value.sum)}\n`;
      out += `${this.name}_count${labelText(labels)} ${value.count}\n`;
    }
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];

  add<M extends Metric>(metric: M): M {
    if (this.metrics.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.push(metric);
    return metric;
  }

  /** The Prometheus text format; serve it as `text/plain; version=0.0.4`. */
  render(): string {
    return this.metrics.map((m) => m.render()).join('');
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
