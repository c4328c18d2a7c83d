// Prometheus text exposition parsed by an independent parser
// (parse-prometheus-text-format), so a spec checks what a scraper reads, not
// what prom-client meant to write.

export interface Sample {
  readonly value?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly buckets?: Readonly<Record<string, string>>;
  readonly count?: string;
  readonly sum?: string;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
  readonly metrics: readonly Sample[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const parse = require('parse-prometheus-text-format') as (text: string) => Family[];

/** Families by name; throws (failing the spec) on text the parser refuses. */
export function parseExposition(text: string): Map<string, Family> {
  return new Map(parse(text).map((f) => [f.name, f]));
}
