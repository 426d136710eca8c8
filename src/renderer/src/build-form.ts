import type { BuildStrategy, TargetPool } from '../../core/models.js';

/** What the New build form holds; every value is what the inputs show. */
export interface BuildFormValues {
  repositoryUrl: string;
  gitRef: string;
  solutionPath: string;
  configuration: string;
  strategy: BuildStrategy;
  targetPool: TargetPool;
  runTests: boolean;
  createPackages: boolean;
  verify: boolean;
}

export const DEFAULT_FORM: BuildFormValues = {
  repositoryUrl: '',
  gitRef: 'main',
  solutionPath: '',
  configuration: 'Release',
  strategy: 'Incremental',
  targetPool: 'Linux',
  runTests: true,
  createPackages: false,
  verify: false,
};

/** The form's fields, in the order they are shown (and focused when one is wrong). */
export const FORM_FIELDS = [
  'repositoryUrl',
  'gitRef',
  'solutionPath',
  'configuration',
  'strategy',
  'targetPool',
  'runTests',
  'createPackages',
  'verify',
] as const satisfies readonly (keyof BuildFormValues)[];
export type FormField = (typeof FORM_FIELDS)[number];

/**
 * What the Verify toggle does with the chosen strategy. Every strategy can verify: the whole build
 * is repeated on a second peer (Incremental, Clean), each project's build is (Distributed, Cached),
 * and a Canary always compares its peers' outputs.
 */
export function verifyHint(strategy: BuildStrategy): string {
  switch (strategy) {
    case 'Incremental':
    case 'Clean':
      return 'A second peer builds the whole solution from the same commit; the outputs are compared file by file.';
    case 'Distributed':
    case 'Cached':
      return 'Each project is built again on another peer, cache off, and its outputs compared; these second builds show in the timeline as verify tasks.';
    case 'Canary':
      return 'A Canary always compares the outputs of its peers, with or without this.';
  }
}

/** The body of `POST /api/v1/builds` (the flat form) for the form's values. */
export function buildRequestBody(values: BuildFormValues): Record<string, unknown> {
  return {
    repositoryUrl: values.repositoryUrl.trim(),
    gitRef: values.gitRef.trim(),
    solutionPath: values.solutionPath.trim(),
    configuration: values.configuration.trim(),
    strategy: values.strategy,
    targetPool: values.targetPool,
    runTests: values.runTests,
    createPackages: values.createPackages,
    verify: values.verify,
  };
}

/**
 * Sorts the `details` of a 400 envelope (`{ field, message }`) by form field: `job.repositoryUrl`
 * and `repositoryUrl` both belong to the URL input. Problems of fields the form does not show go
 * under `other`, so no message is ever dropped.
 */
export function fieldErrors(details: unknown): {
  byField: Partial<Record<FormField, string[]>>;
  other: string[];
} {
  const byField: Partial<Record<FormField, string[]>> = {};
  const other: string[] = [];
  if (!Array.isArray(details)) return { byField, other };
  for (const detail of details as unknown[]) {
    if (typeof detail === 'string') {
      other.push(detail);
      continue;
    }
    if (typeof detail !== 'object' || detail === null) continue;
    const { field, message } = detail as { field?: unknown; message?: unknown };
    if (typeof message !== 'string') continue;
    const name = typeof field === 'string' ? field.replace(/^job\./, '').split('.')[0]! : '';
    const formField = (FORM_FIELDS as readonly string[]).includes(name) ? (name as FormField) : null;
    if (formField) (byField[formField] ??= []).push(message);
    else other.push(typeof field === 'string' && field !== '' ? `${field} ${message}` : message);
  }
  return { byField, other };
}

/** The first field with a problem, in form order, to move the focus to. */
export function firstInvalidField(byField: Partial<Record<FormField, string[]>>): FormField | null {
  return FORM_FIELDS.find((field) => (byField[field]?.length ?? 0) > 0) ?? null;
}

/** What a build's detail says about its request, enough to fill the form again (rebuild). */
export interface BuildRequestView {
  repositoryUrl: string;
  gitRef: string;
  solutionPath: string;
  configuration: string;
  strategy: BuildStrategy;
  targetPool: TargetPool;
  stages: readonly { name: string; message: string | null }[];
  artifacts: readonly { name: string }[];
  peerResults: readonly { role: string }[];
  /** Every Canary and every verify build has one (of any strategy); other builds have none. */
  reproducibility?: unknown;
  timeline?: readonly { kind: string }[];
  /** The echoed toggles; when present they are taken as they are. */
  options?: { runTests: boolean; createPackages: boolean; verify: boolean };
}

/**
 * The form values that repeat a build. The toggles come from the detail's `options`; a node that
 * does not echo them yet leaves them to be read from what the build did: a Test stage skipped with "runTests is false" means tests were off,
 * a `.nupkg` artifact means packing was on. Verify was on when a build other than a Canary (which
 * always checks) has a reproducibility report, a `verify` peer result (Incremental, Clean) or
 * `verify` tasks (Distributed, Cached).
 */
export function formValuesFromBuild(build: BuildRequestView): BuildFormValues {
  return {
    repositoryUrl: build.repositoryUrl,
    gitRef: build.gitRef,
    solutionPath: build.solutionPath,
    configuration: build.configuration,
    strategy: build.strategy,
    targetPool: build.targetPool,
    runTests:
      build.options?.runTests ??
      !build.stages.some((stage) => stage.name === 'Test' && stage.message === 'runTests is false'),
    createPackages:
      build.options?.createPackages ??
      build.artifacts.some((artifact) => artifact.name.toLowerCase().endsWith('.nupkg')),
    // A Canary always checks: the toggle stays off for it.
    verify: build.strategy !== 'Canary' && (build.options?.verify ?? verifiedBuild(build)),
  };
}

function verifiedBuild(build: BuildRequestView): boolean {
  return (
    (build.reproducibility !== undefined && build.reproducibility !== null) ||
    build.peerResults.some((result) => result.role === 'verify') ||
    (build.timeline ?? []).some((entry) => entry.kind === 'verify')
  );
}

/** Whether a URL as the API shows it still carries masked credentials (`https://***@host/…`). */
export function hasMaskedCredentials(url: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\/\*\*\*@/.test(url);
}
