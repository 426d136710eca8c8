import { z } from 'zod';
import { caseInsensitiveEnum } from './zod-helpers.js';
import { SCHEDULE_KINDS } from './task-scheduler.js';
import { InvalidBuildRequestError, type FieldProblem } from './errors.js';
import { checkGitRef, checkRepositoryUrl, normaliseSolutionPath } from './git-input.js';
import {
  BUILD_PRIORITIES,
  BUILD_STRATEGIES,
  TARGET_POOLS,
  type BuildRequest,
  type BuildStrategy,
} from './models.js';

const EMAIL_PATTERN = /^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$/;
const MSBUILD_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,99}$/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/;

/** A string field that must be present; missing or wrong types get messages a user can act on. */
function requiredString(what: string) {
  return z
    .string({
      error: (issue) => (issue.input === undefined ? `is required (${what})` : `must be a string (${what})`),
    })
    .min(1, { error: `is required (${what})` });
}

const simpleToken = (what: string) =>
  z
    .string({ error: `must be a string (${what})` })
    .regex(/^[A-Za-z0-9_.+-]{1,64}$/, { error: `must be 1-64 letters, digits or . _ + - (${what})` })
    .refine((value) => !value.startsWith('-'), { error: `may not start with "-" (${what})` });

const stringMap = (what: string, maxEntries: number) =>
  z
    .record(
      z.string(),
      z
        .string({ error: `values must be strings (${what})` })
        .max(1000, { error: `values may be at most 1000 characters (${what})` })
        .refine((value) => !CONTROL_CHARS.test(value), {
          error: `values may not contain control characters (${what})`,
        }),
      {
        error: (issue) =>
          issue.code === 'invalid_type' ? `must be an object of string values (${what})` : undefined,
      },
    )
    .superRefine((map, ctx) => {
      const keys = Object.keys(map);
      if (keys.length > maxEntries)
        ctx.addIssue({ code: 'custom', message: `may have at most ${maxEntries} entries` });
      for (const key of keys.filter((k) => !MSBUILD_NAME.test(k))) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `keys must be names like Version or My.Setting (${what})`,
        });
      }
    });

/** The job fields: what to build and how. Shared by the flat and the nested request forms. */
export const buildJobSchema = z.strictObject({
  jobId: z.uuid({ error: 'must be a UUID' }).optional(),
  projectName: z
    .string({ error: 'must be a string' })
    .trim()
    .min(1, { error: 'may not be blank' })
    .max(200, { error: 'may be at most 200 characters' })
    .optional(),
  repositoryUrl: requiredString('the git URL of the repository').superRefine((url, ctx) => {
    const problem = checkRepositoryUrl(url);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  gitRef: requiredString('branch, tag or commit SHA').superRefine((ref, ctx) => {
    const problem = checkGitRef(ref);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  solutionPath: requiredString('the .sln, .slnx or project file, relative to the repository root').transform(
    (path, ctx) => {
      const result = normaliseSolutionPath(path);
      if ('problem' in result) {
        ctx.addIssue({ code: 'custom', message: result.problem });
        return z.NEVER;
      }
      return result.path;
    },
  ),
  configuration: simpleToken('e.g. Debug or Release').default('Release'),
  targetFramework: z
    .string({ error: 'must be a string' })
    .regex(/^net[a-z]*\d+(\.\d+)?(-[a-z0-9.]+)?$/, {
      error: 'must be a target framework moniker such as net10.0',
    })
    .nullish(),
  platform: simpleToken('e.g. AnyCPU, x64 or ARM64').default('AnyCPU'),
  runtimeIdentifier: z
    .string({ error: 'must be a string' })
    .regex(/^[a-z0-9][a-z0-9.-]{0,63}$/, { error: 'must be a runtime identifier such as linux-x64' })
    .nullish(),
  buildProperties: stringMap('MSBuild properties passed as -p:Key=Value', 100).default({}),
  runTests: z.boolean({ error: 'must be true or false' }).default(true),
  createPackages: z.boolean({ error: 'must be true or false' }).default(false),
  publishArtifacts: z.boolean({ error: 'must be true or false' }).default(true),
  timeoutMinutes: z
    .int({ error: 'must be a whole number of minutes' })
    .min(1, { error: 'must be at least 1' })
    .max(1440, { error: 'may be at most 1440 (24 hours)' })
    .default(60),
  metadata: stringMap('free-form labels such as trigger or ci', 50).default({}),
  requesterEmail: z.string().regex(EMAIL_PATTERN, { error: 'must be a valid email address' }).optional(),
});

/** The request-level fields that sit beside `job` in the nested form. */
export const buildOptionsSchema = z.strictObject({
  executionId: z.uuid({ error: 'must be a UUID' }).optional(),
  targetPool: caseInsensitiveEnum(TARGET_POOLS).default('Linux'),
  strategy: caseInsensitiveEnum(BUILD_STRATEGIES).default('Incremental'),
  priority: caseInsensitiveEnum(BUILD_PRIORITIES).default('Normal'),
  forceClean: z.boolean({ error: 'must be true or false' }).default(false),
  /** Distributed and Cached: how project tasks are ordered (`waves` is the design's level-by-level mode). */
  schedule: caseInsensitiveEnum(SCHEDULE_KINDS).default('critical-path'),
  /** Distributed and Cached: let independent tasks finish after a failure (dependents are Skipped). */
  continueOnError: z.boolean({ error: 'must be true or false' }).default(false),
  /** Canary: the most warnings the canary build may have; absent means unlimited. */
  maxWarnings: z
    .int({ error: 'must be a whole number of warnings (0 or more), or absent for unlimited' })
    .min(0, { error: 'must be 0 or more (absent means unlimited)' })
    .nullish(),
  /**
   * Any strategy: build again on a second peer and compare the outputs by hash (whole builds: the
   * second peer repeats the build; Distributed and Cached: each project's build task, cache off).
   */
  verify: z.boolean({ error: 'must be true or false' }).default(false),
  requesterEmail: z.string().regex(EMAIL_PATTERN, { error: 'must be a valid email address' }).optional(),
});

const REQUEST_LEVEL_KEYS = new Set(Object.keys(buildOptionsSchema.shape));

export interface ParseBuildRequestContext {
  /** Used when the request carries no executionId. */
  newId: () => string;
  now: Date;
  /** Strategies this node can run; any other is a 400 naming this list (never a silent fallback). */
  runnableStrategies: readonly BuildStrategy[];
}

function toProblems(error: z.ZodError, prefix: string): FieldProblem[] {
  return error.issues.map((issue) => {
    const path = issue.path.map(String).join('.');
    const field = [prefix, path].filter(Boolean).join('.') || '(body)';
    if (issue.code === 'unrecognized_keys') {
      return {
        field: [prefix, ...issue.keys].filter(Boolean).join('.'),
        message: `is not a known field; remove it (known fields are listed in the API documentation)`,
      };
    }
    return { field, message: issue.message };
  });
}

/**
 * Validates and normalises a build request. Accepts the nested `{ job: {...}, strategy, ... }`
 * form and the flat form; collects every problem before failing.
 */
export function parseBuildRequest(body: unknown, context: ParseBuildRequestContext): BuildRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidBuildRequestError([{ field: '(body)', message: 'must be a JSON object' }]);
  }
  const input = body as Record<string, unknown>;
  const nested = 'job' in input;
  const jobInput: unknown = nested
    ? input.job
    : Object.fromEntries(
        Object.entries(input).filter(([key]) => !REQUEST_LEVEL_KEYS.has(key) || key === 'requesterEmail'),
      );
  const optionsInput = nested
    ? Object.fromEntries(Object.entries(input).filter(([key]) => key !== 'job'))
    : Object.fromEntries(Object.entries(input).filter(([key]) => REQUEST_LEVEL_KEYS.has(key)));

  const problems: FieldProblem[] = [];
  const job = buildJobSchema.safeParse(jobInput);
  if (!job.success) problems.push(...toProblems(job.error, nested ? 'job' : ''));
  const options = buildOptionsSchema.safeParse(optionsInput);
  if (!options.success) problems.push(...toProblems(options.error, ''));
  if (options.success && !context.runnableStrategies.includes(options.data.strategy)) {
    problems.push({
      field: 'strategy',
      message: `${options.data.strategy} cannot run on this node; allowed: ${context.runnableStrategies.join(', ')}`,
    });
  }
  if (options.success && options.data.maxWarnings != null && options.data.strategy !== 'Canary') {
    problems.push({ field: 'maxWarnings', message: 'applies to Canary builds only' });
  }
  if (!job.success || !options.success || problems.length > 0) throw new InvalidBuildRequestError(problems);

  const jobData = job.data;
  const requesterEmail = options.data.requesterEmail ?? jobData.requesterEmail ?? null;
  const createdAt = context.now.toISOString();
  return {
    executionId: options.data.executionId ?? context.newId(),
    job: {
      jobId: jobData.jobId ?? context.newId(),
      projectName: jobData.projectName ?? defaultProjectName(jobData.solutionPath),
      repositoryUrl: jobData.repositoryUrl,
      gitRef: jobData.gitRef,
      solutionPath: jobData.solutionPath,
      configuration: jobData.configuration,
      targetFramework: jobData.targetFramework ?? null,
      platform: jobData.platform,
      runtimeIdentifier: jobData.runtimeIdentifier ?? null,
      buildProperties: jobData.buildProperties,
      runTests: jobData.runTests,
      createPackages: jobData.createPackages,
      publishArtifacts: jobData.publishArtifacts,
      timeoutMinutes: jobData.timeoutMinutes,
      metadata: jobData.metadata,
      requesterEmail,
    },
    targetPool: options.data.targetPool,
    strategy: options.data.strategy,
    priority: options.data.priority,
    forceClean: options.data.forceClean,
    schedule: options.data.schedule,
    continueOnError: options.data.continueOnError,
    ...(options.data.strategy === 'Canary'
      ? { maxWarnings: options.data.maxWarnings ?? null, anyPool: !('targetPool' in optionsInput) }
      : {}),
    ...(options.data.verify || options.data.strategy === 'Canary' ? { verify: true } : {}),
    requesterEmail,
    createdAt,
  };
}

/** `src/App/App.sln` → `App`: the display name when the request gives none. */
export function defaultProjectName(solutionPath: string): string {
  const file = solutionPath.split('/').pop() ?? solutionPath;
  return file.replace(/\.[^.]+$/, '') || file;
}
