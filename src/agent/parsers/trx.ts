import { XMLParser } from 'fast-xml-parser';
import { BuildMeshError } from '../../core/errors.js';
import type { TestFailure, TestResults } from '../../core/models.js';

/**
 * Reads the Visual Studio TRX files that `dotnet test --logger trx` writes, one per test project
 * (and target framework). Counts come from the `UnitTestResult` elements, not from
 * `ResultSummary/Counters`: VSTest leaves `notExecuted` at 0 for skipped xunit tests and only
 * lowers `executed`, so the counters cannot tell a skipped test apart.
 */

/** The text is not a TRX document. */
export class TrxFormatError extends BuildMeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TrxInvalid', message, options);
    this.name = 'TrxFormatError';
  }
}

/** The name given to the failure that stands for a run that failed without a failing test (a crashed test host). */
export const RUN_FAILURE_NAME = '(test run)';

type Bucket = 'passed' | 'failed' | 'skipped';

/** Every outcome VSTest's TRX schema defines, by which count it adds to. */
const OUTCOME_BUCKETS: Readonly<Record<string, Bucket>> = {
  passed: 'passed',
  passedbutrunaborted: 'passed',
  warning: 'passed',
  completed: 'passed',
  failed: 'failed',
  error: 'failed',
  timeout: 'failed',
  aborted: 'failed',
  notexecuted: 'skipped',
  inconclusive: 'skipped',
  notrunnable: 'skipped',
  disconnected: 'skipped',
  pending: 'skipped',
  inprogress: 'skipped',
};

const RUN_FAILED_OUTCOMES = new Set(['failed', 'error', 'aborted', 'timeout']);

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  // Keep messages and names as written: no number coercion, no trimming of stack-trace indentation.
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  // Also decodes numeric character references (&#xD;), which plain XML entity processing leaves alone.
  htmlEntities: true,
  isArray: (tagName) => tagName === 'UnitTestResult' || tagName === 'RunInfo',
});

/** Parses one TRX document. Throws TrxFormatError when the text has no `TestRun` root. */
export function parseTrx(xml: string): TestResults {
  let document: unknown;
  try {
    // TRX files start with a UTF-8 byte order mark.
    document = parser.parse(xml.replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new TrxFormatError(`TRX is not well-formed XML: ${(error as Error).message}`, { cause: error });
  }
  const run = child(document, 'TestRun');
  if (!isRecord(run)) throw new TrxFormatError('TRX has no TestRun element');

  const counts: Record<Bucket, number> = { passed: 0, failed: 0, skipped: 0 };
  const failures: TestFailure[] = [];
  let summedDurationMs = 0;
  for (const result of list(child(child(run, 'Results'), 'UnitTestResult'))) {
    const outcome = attribute(result, 'outcome').toLowerCase();
    const bucket = OUTCOME_BUCKETS[outcome] ?? 'skipped';
    counts[bucket]++;
    const durationMs = parseTimeSpanMs(attribute(result, 'duration')) ?? 0;
    summedDurationMs += durationMs;
    if (bucket === 'failed') {
      const errorInfo = child(child(result, 'Output'), 'ErrorInfo');
      failures.push({
        name: attribute(result, 'testName'),
        message: text(child(errorInfo, 'Message')).trimEnd(),
        stackTrace: text(child(errorInfo, 'StackTrace')).trimEnd(),
        durationMs,
      });
    }
  }

  const summary = child(run, 'ResultSummary');
  const runOutcome = attribute(summary, 'outcome').toLowerCase();
  if (counts.failed === 0 && RUN_FAILED_OUTCOMES.has(runOutcome)) {
    // A crashed or aborted test host fails the run with no failing test; without this the run would read as green.
    const reasons = list(child(child(summary, 'RunInfos'), 'RunInfo'))
      .filter((info) => attribute(info, 'outcome').toLowerCase() === 'error')
      .map((info) => text(child(info, 'Text')).trim());
    counts.failed++;
    failures.push({
      name: RUN_FAILURE_NAME,
      message:
        reasons.length > 0
          ? reasons.join('\n')
          : `The test run ended with outcome ${attribute(summary, 'outcome')}`,
      stackTrace: '',
      durationMs: 0,
    });
  }

  const times = child(run, 'Times');
  const start = Date.parse(attribute(times, 'start'));
  const finish = Date.parse(attribute(times, 'finish'));
  const durationMs =
    Number.isFinite(start) && Number.isFinite(finish) && finish >= start ? finish - start : summedDurationMs;

  return {
    total: counts.passed + counts.failed + counts.skipped,
    passed: counts.passed,
    failed: counts.failed,
    skipped: counts.skipped,
    durationMs: roundMs(durationMs),
    failures,
  };
}

/**
 * Adds up the results of several runs (one TRX per test project). The duration is the sum of the runs'
 * durations, i.e. test time rather than wall-clock time when projects ran in parallel.
 */
export function mergeTestResults(results: readonly TestResults[]): TestResults {
  const merged: TestResults = { total: 0, passed: 0, failed: 0, skipped: 0, durationMs: 0, failures: [] };
  for (const result of results) {
    merged.total += result.total;
    merged.passed += result.passed;
    merged.failed += result.failed;
    merged.skipped += result.skipped;
    merged.durationMs += result.durationMs;
    merged.failures.push(...result.failures);
  }
  merged.durationMs = roundMs(merged.durationMs);
  return merged;
}

/** `00:00:00.0112034` or `1.02:03:04.5` (a .NET TimeSpan) → milliseconds; null when malformed. */
export function parseTimeSpanMs(value: string): number | null {
  const match = /^(?:(\d+)\.)?(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(value.trim());
  if (match === null) return null;
  const [, days, hours, minutes, seconds] = match;
  const totalSeconds =
    Number(days ?? 0) * 86_400 + Number(hours) * 3_600 + Number(minutes) * 60 + Number(seconds);
  return roundMs(totalSeconds * 1000);
}

/** Microsecond precision is plenty and keeps sums free of floating-point noise. */
function roundMs(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function child(node: unknown, name: string): unknown {
  return isRecord(node) ? node[name] : undefined;
}

function list(node: unknown): unknown[] {
  if (node === undefined) return [];
  return Array.isArray(node) ? (node as unknown[]) : [node];
}

function attribute(node: unknown, name: string): string {
  const value = child(node, name);
  return typeof value === 'string' ? value : '';
}

/** An element's text, whether the parser gave a plain string or an object with `#text`. */
function text(node: unknown): string {
  if (typeof node === 'string') return node;
  const value = child(node, '#text');
  return typeof value === 'string' ? value : '';
}
