import { z } from 'zod';
import { apiSchemaRegistry } from './api-schemas.js';
import { checkGitRef, checkRepositoryUrl } from './git-input.js';

/**
 * Listing a repository's solutions for a ref, so the dashboard can offer them before a build is
 * submitted: the query is validated here, the port is implemented by the agent (git), and the
 * response is what `GET /api/v1/repositories/solutions` answers.
 */

/** The files a build can name as its `solutionPath`. */
export const SOLUTION_FILE_EXTENSIONS = ['.sln', '.slnx', '.csproj', '.fsproj', '.vbproj'] as const;

/** At most this many paths are listed (a monorepo can hold thousands of projects). */
export const MAX_LISTED_SOLUTIONS = 500;

/** `GET /api/v1/repositories/solutions` query: the same rules as a build request's fields. */
export const solutionsQuerySchema = z.object({
  repositoryUrl: z
    .string({ error: 'is required (the git URL of the repository)' })
    .min(1, { error: 'is required (the git URL of the repository)' })
    .superRefine((url, ctx) => {
      const problem = checkRepositoryUrl(url);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({
      description: 'The git URL of the repository.',
      examples: ['https://github.com/contoso/app.git'],
    }),
  gitRef: z
    .string({ error: 'is required (branch, tag or commit SHA)' })
    .min(1, { error: 'is required (branch, tag or commit SHA)' })
    .superRefine((ref, ctx) => {
      const problem = checkGitRef(ref);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .meta({ description: 'Branch, tag or commit SHA to resolve.', examples: ['main'] }),
});
export type SolutionsQuery = z.infer<typeof solutionsQuerySchema>;

/** The body of `GET /api/v1/repositories/solutions`. */
export const solutionListSchema = z
  .object({
    repositoryUrl: z.string().meta({ description: 'The repository, credentials masked.' }),
    gitRef: z.string().meta({ description: 'The ref as asked.' }),
    resolvedRef: z
      .string()
      .meta({ description: 'The remote ref it matched (`refs/heads/main`), or the commit for a SHA.' }),
    commit: z.string().meta({ description: 'The commit the ref resolved to.' }),
    solutions: z.array(z.string()).meta({
      description: `Solution and project files at that commit (${SOLUTION_FILE_EXTENSIONS.join(', ')}), solutions first, then by depth; at most ${MAX_LISTED_SOLUTIONS}.`,
    }),
    truncated: z
      .boolean()
      .meta({ description: `True when the commit holds more than ${MAX_LISTED_SOLUTIONS}.` }),
  })
  .meta({
    description: "A repository's solution and project files at the commit a ref resolved to.",
    examples: [
      {
        repositoryUrl: 'https://github.com/contoso/app.git',
        gitRef: 'main',
        resolvedRef: 'refs/heads/main',
        commit: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
        solutions: ['App.sln', 'src/Api/Api.csproj', 'tests/Api.Tests/Api.Tests.csproj'],
        truncated: false,
      },
    ],
  });
apiSchemaRegistry.add(solutionListSchema, { id: 'SolutionList' });
export type SolutionList = z.infer<typeof solutionListSchema>;

/** Resolves a ref and lists the solution files of that commit (implemented with git by the agent). */
export interface RepositoryBrowser {
  listSolutions(query: SolutionsQuery, options: { signal?: AbortSignal }): Promise<SolutionList>;
}

export function isSolutionFile(path: string): boolean {
  const lower = path.toLowerCase();
  return SOLUTION_FILE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/**
 * Solution files first (`.sln`, `.slnx`), then projects; shallower paths before deeper ones;
 * then alphabetically. The first entry is the best default for a build.
 */
export function sortSolutionPaths(paths: readonly string[]): string[] {
  const rank = (path: string) => (/\.slnx?$/i.test(path) ? 0 : 1);
  const depth = (path: string) => path.split('/').length;
  return paths
    .filter(isSolutionFile)
    .sort((a, b) => rank(a) - rank(b) || depth(a) - depth(b) || a.localeCompare(b));
}
