import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { NotReproducibleProjects } from './not-reproducible-projects.js';

describe('NotReproducibleProjects', () => {
  let dir = '';
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('matches project files by their directory and keeps the marks across restarts', async () => {
    dir = await mkdtemp(join(tmpdir(), 'buildmesh-not-reproducible-'));
    const file = join(dir, 'action-cache', 'not-reproducible.json');
    const projects = new NotReproducibleProjects(file);
    expect(projects.has('src/Lib/Lib.csproj')).toBe(false);
    projects.mark(['src/Lib', 'src/Lib']);
    expect(projects.has('src/Lib/Lib.csproj')).toBe(true);
    expect(projects.has('src/Lib')).toBe(true);
    expect(projects.has('src/Lib2/Lib2.csproj')).toBe(false);
    expect(projects.has('src/Lib/Nested/Nested.csproj')).toBe(false);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(['src/Lib']);
    expect(new NotReproducibleProjects(file).has('src/Lib/Lib.csproj')).toBe(true);
  });
});
