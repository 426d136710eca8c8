import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { mergeTestResults, parseTimeSpanMs, parseTrx, RUN_FAILURE_NAME, TrxFormatError } from './trx.js';

/** TRX files written by `dotnet test --logger trx` (SDK 10.0.401, xunit 2.9.3, VSTest 18.0.1) on generated fixtures. */
function recorded(name: string): string {
  return readFileSync(new URL(`./__recorded__/${name}`, import.meta.url), 'utf8');
}

describe('parseTrx', () => {
  it('reads a run with one failing test', () => {
    const xml = recorded('failing-test.trx');
    expect(xml.charCodeAt(0)).toBe(0xfeff);
    const results = parseTrx(xml);
    expect(results).toMatchObject({ total: 3, passed: 2, failed: 1, skipped: 0 });
    // Times start 10:52:07.0848701, finish 10:52:08.7437316 (Date.parse keeps milliseconds).
    expect(results.durationMs).toBe(1659);
    expect(results.failures).toEqual([
      {
        name: 'Layer0.Tests.Layer0Tests.Deliberately_failing_test',
        message: 'Assert.Equal() Failure: Values differ\nExpected: 1001\nActual:   1',
        stackTrace: expect.stringMatching(
          /^ {3}at Layer0\.Tests\.Layer0Tests\.Deliberately_failing_test\(\) in \/tmp\/fx\/ft\/clone\/tests\/Layer0\.Tests\/Layer0Tests\.cs:line 20\n/,
        ) as unknown,
        durationMs: 11.203,
      },
    ]);
  });

  it('reads a passing run', () => {
    expect(parseTrx(recorded('passing.trx'))).toEqual({
      total: 2,
      passed: 2,
      failed: 0,
      skipped: 0,
      durationMs: 1518,
      failures: [],
    });
  });

  it('reads a run with a single UnitTestResult', () => {
    expect(parseTrx(recorded('single-test.trx'))).toMatchObject({
      total: 1,
      passed: 1,
      failed: 0,
      skipped: 0,
    });
  });

  it('reads a project without tests', () => {
    expect(parseTrx(recorded('zero-tests.trx'))).toEqual({
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      durationMs: 2108,
      failures: [],
    });
  });

  it('counts a skipped test although the TRX counters do not', () => {
    const xml = recorded('skipped.trx');
    // VSTest writes notExecuted="0" for a skipped xunit test; only the result's outcome tells.
    expect(xml).toContain('notExecuted="0"');
    expect(parseTrx(xml)).toMatchObject({ total: 2, passed: 1, failed: 0, skipped: 1, failures: [] });
  });

  // Stack frames below the test method were trimmed from this recording to keep it small.
  it('turns a crashed test host into a failure instead of a green run', () => {
    const results = parseTrx(recorded('test-host-crash.trx'));
    expect(results).toMatchObject({ total: 1, passed: 0, failed: 1, skipped: 0 });
    expect(results.failures).toHaveLength(1);
    expect(results.failures[0]?.name).toBe(RUN_FAILURE_NAME);
    expect(results.failures[0]?.message).toMatch(
      /^The active test run was aborted\. Reason: Test host process crashed : Process terminated\.\nFixture: the test host is going down\n/,
    );
  });

  it('decodes entities and numeric character references, and keeps numeric-looking messages as text', () => {
    const xml = `<TestRun><Results><UnitTestResult testName="T.A&lt;int&gt;" outcome="Error" duration="00:00:01.5">
      <Output><ErrorInfo><Message>0042</Message><StackTrace>at a&#xD;&#10;at b</StackTrace></ErrorInfo></Output>
    </UnitTestResult></Results></TestRun>`;
    expect(parseTrx(xml)).toEqual({
      total: 1,
      passed: 0,
      failed: 1,
      skipped: 0,
      durationMs: 1500,
      failures: [{ name: 'T.A<int>', message: '0042', stackTrace: 'at a\r\nat b', durationMs: 1500 }],
    });
  });

  it('falls back to the sum of test durations without Times', () => {
    const xml = `<TestRun><Results>
      <UnitTestResult testName="a" outcome="Passed" duration="00:00:00.25" />
      <UnitTestResult testName="b" outcome="NotExecuted" duration="00:00:00.5" />
    </Results></TestRun>`;
    expect(parseTrx(xml)).toMatchObject({ total: 2, passed: 1, skipped: 1, durationMs: 750 });
  });

  it('rejects text that is not a TRX document', () => {
    expect(() => parseTrx('<html><body/></html>')).toThrow(TrxFormatError);
    expect(() => parseTrx('')).toThrow(/no TestRun/);
  });
});

describe('mergeTestResults', () => {
  it('adds counts and durations and keeps every failure', () => {
    const merged = mergeTestResults([
      parseTrx(recorded('failing-test.trx')),
      parseTrx(recorded('passing.trx')),
      parseTrx(recorded('zero-tests.trx')),
      parseTrx(recorded('skipped.trx')),
    ]);
    expect(merged).toMatchObject({ total: 7, passed: 5, failed: 1, skipped: 1 });
    expect(merged.durationMs).toBe(1659 + 1518 + 2108 + 2064);
    expect(merged.failures.map((failure) => failure.name)).toEqual([
      'Layer0.Tests.Layer0Tests.Deliberately_failing_test',
    ]);
  });

  it('gives empty results for no runs', () => {
    expect(mergeTestResults([])).toEqual({
      total: 0,
      passed: 0,
      failed: 0,
      skipped: 0,
      durationMs: 0,
      failures: [],
    });
  });
});

describe('parseTimeSpanMs', () => {
  it('reads .NET TimeSpan text', () => {
    expect(parseTimeSpanMs('00:00:00.0112034')).toBe(11.203);
    expect(parseTimeSpanMs('00:01:02')).toBe(62_000);
    expect(parseTimeSpanMs('1.02:03:04.5')).toBe(93_784_500);
    expect(parseTimeSpanMs('soon')).toBeNull();
    expect(parseTimeSpanMs('')).toBeNull();
  });
});
