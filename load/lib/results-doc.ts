/**
 * Where `npm run bench` writes its results table: between two markers in docs/performance.md, with the chart
 * image beside that page. Pure text in, text out, so a unit test holds the page and the writer in step.
 */
export const RESULTS_DOC = 'docs/performance.md';
export const BENCH_START = '<!-- bench:start -->';
export const BENCH_END = '<!-- bench:end -->';

export interface BenchRun {
  /** ISO date of the run. */
  date: string;
  rounds: number;
  durationS: number;
  /** The results table, Markdown. */
  table: string;
  /** The chart's file name, in the same folder as the page (e.g. performance.png). */
  image: string;
}

/** `text` with the part between the bench markers replaced by this run; undefined when the markers are missing. */
export function withBenchRun(text: string, run: BenchRun): string | undefined {
  const i = text.indexOf(BENCH_START);
  const j = text.indexOf(BENCH_END);
  if (i < 0 || j < i) return undefined;
  const when = run.date.slice(0, 16).replace('T', ' ');
  const body = `${BENCH_START}\n_Run ${when} UTC, ${run.rounds} rounds × ${run.durationS} s (medians)._\n\n${run.table}\n\n![benchmark chart](${run.image})\n${BENCH_END}`;
  return text.slice(0, i) + body + text.slice(j + BENCH_END.length);
}
