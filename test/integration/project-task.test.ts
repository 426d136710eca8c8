import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ContentStore } from '../../src/agent/content-store.js';
import {
  buildProject,
  placeProjectOutputs,
  readProjectOutputs,
  storeProjectOutputs,
} from '../../src/agent/project-task.js';
import { materializeSources, snapshotSources } from '../../src/agent/source-snapshot.js';
import { generateSolutionRepo, type GeneratedRepo } from '../fixtures/generate-solution.js';
import { removeDir } from '../helpers/node-harness.js';

const job = { configuration: 'Release', targetFramework: null, runtimeIdentifier: null, buildProperties: {} };

describe('project tasks: one project built against its references’ outputs from the CAS', () => {
  let root: string;
  let repo: GeneratedRepo;
  let store: ContentStore;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'buildmesh-ptask-'));
    repo = await generateSolutionRepo({
      root,
      width: 2,
      depth: 2,
      testProjects: false,
      app: false,
      name: 'ptask',
    });
    store = new ContentStore(join(root, 'cas'));
  });
  afterAll(async () => removeDir(root));

  it('builds the bottom layer in one workspace and a dependent in another, from stored outputs only', async () => {
    const { manifest } = await snapshotSources(repo.workingCopyPath, repo.headCommit, store);
    const first = join(root, 'peer-1');
    const second = join(root, 'peer-2');
    await materializeSources(manifest, store, first);
    await materializeSources(manifest, store, second);

    const bottom = repo.libraryProjects.filter((path) => path.includes('Lib0'));
    const trees: string[] = [];
    for (const projectPath of bottom) {
      await buildProject({ sourceDir: first, projectPath, job, signal: new AbortController().signal });
      const { treeSha256, tree } = await storeProjectOutputs(first, projectPath, 'Release', store);
      expect(
        tree.entries.some((entry) =>
          entry.path.endsWith('/ref/' + projectPath.split('/').pop()!.replace('.csproj', '.dll')),
        ),
      ).toBe(true);
      trees.push(treeSha256);
    }

    await placeProjectOutputs(store, trees, second);
    const dependent = repo.libraryProjects.find((path) => path.includes('Lib1A'))!;
    const lines: string[] = [];
    await buildProject({
      sourceDir: second,
      projectPath: dependent,
      job,
      signal: new AbortController().signal,
      onLine: (line) => lines.push(line),
    });
    // Only the dependent was compiled: its references came from the CAS.
    expect(lines.filter((line) => line.includes(' -> '))).toHaveLength(1);
    expect(existsSync(join(second, dependent.replace('Lib1A.csproj', 'bin/Release/net10.0/Lib1A.dll')))).toBe(
      true,
    );

    const stored = await storeProjectOutputs(second, dependent, 'Release', store);
    expect((await readProjectOutputs(store, stored.treeSha256)).projectPath).toBe(dependent);
  });
});
