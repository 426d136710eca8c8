import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_ANNOUNCED_MARK_BYTES, MAX_ANNOUNCED_MARKS } from '../core/not-reproducible.js';
import { presenceAnnouncementSchema } from '../core/mesh-messages.js';
import { NotReproducibleProjects } from './not-reproducible-projects.js';

const APP = 'git.example.com/team/app';
const OTHER = 'git.example.com/team/other';

describe('NotReproducibleProjects', () => {
  let dir = '';
  let file = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'buildmesh-not-reproducible-'));
    file = join(dir, 'action-cache', 'not-reproducible.json');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('matches project files by their directory, in the marked repository only, and keeps the marks across restarts', async () => {
    const projects = new NotReproducibleProjects(file);
    expect(projects.has('src/Lib/Lib.csproj', APP)).toBe(false);
    expect(projects.mark(APP, ['src/Lib', 'src/Lib'])).toEqual([{ repositoryUrl: APP, project: 'src/Lib' }]);
    expect(projects.mark(`${APP}.git`, ['src/Lib'])).toEqual([]);
    expect(projects.has('src/Lib/Lib.csproj', APP)).toBe(true);
    expect(projects.has('src/Lib', APP)).toBe(true);
    // Other spellings of the same repository.
    expect(projects.has('src/Lib/Lib.csproj', 'HTTPS://Git.Example.com/team/app.git/')).toBe(true);
    expect(projects.has('src/Lib/Lib.csproj', 'https://user:secret@git.example.com/team/app')).toBe(true);
    expect(projects.has('src/Lib/Lib.csproj', 'git@git.example.com:team/app.git')).toBe(true);
    expect(projects.has('src/Lib/Lib.csproj', 'ssh://git@git.example.com/team/app')).toBe(true);
    // A project file at the repository root is in `.`.
    projects.mark(APP, ['.']);
    expect(projects.has('App.csproj', APP)).toBe(true);
    expect(projects.has('App.csproj', OTHER)).toBe(false);
    // The same directory in another repository, and other directories, are not marked.
    expect(projects.has('src/Lib/Lib.csproj', OTHER)).toBe(false);
    expect(projects.has('src/Lib/Lib.csproj', 'https://git.example.com/team/App')).toBe(false);
    expect(projects.has('src/Lib2/Lib2.csproj', APP)).toBe(false);
    expect(projects.has('src/Lib/Nested/Nested.csproj', APP)).toBe(false);
    // A lookup that does not say its repository (an older peer) is refused by any mark.
    expect(projects.has('src/Lib/Lib.csproj')).toBe(true);

    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      marks: [
        { repositoryUrl: APP, project: 'src/Lib' },
        { repositoryUrl: APP, project: '.' },
      ],
    });
    const restarted = new NotReproducibleProjects(file);
    expect(restarted.list()).toEqual([
      { repositoryUrl: APP, project: 'src/Lib' },
      { repositoryUrl: APP, project: '.' },
    ]);
    expect(restarted.has('src/Lib/Lib.csproj', APP)).toBe(true);
    expect(restarted.has('src/Lib/Lib.csproj', OTHER)).toBe(false);
  });

  it('reads the earlier file format (a list of directories) as marks of any repository', async () => {
    await mkdir(join(dir, 'action-cache'), { recursive: true });
    await writeFile(file, `${JSON.stringify(['src/Old', 'src/Older'], null, 2)}\n`);
    const projects = new NotReproducibleProjects(file);
    expect(projects.list()).toEqual([
      { repositoryUrl: null, project: 'src/Old' },
      { repositoryUrl: null, project: 'src/Older' },
    ]);
    expect(projects.has('src/Old/Old.csproj', APP)).toBe(true);
    expect(projects.has('src/Old/Old.csproj', OTHER)).toBe(true);
    expect(projects.has('src/Older/Older.csproj')).toBe(true);
    expect(projects.has('src/New/New.csproj', APP)).toBe(false);

    // The next mark writes the new format with the old marks kept.
    projects.mark(APP, ['src/New']);
    const again = new NotReproducibleProjects(file);
    expect(again.list()).toEqual([
      { repositoryUrl: null, project: 'src/Old' },
      { repositoryUrl: null, project: 'src/Older' },
      { repositoryUrl: APP, project: 'src/New' },
    ]);
    expect(again.has('src/Old/Old.csproj', OTHER)).toBe(true);
  });

  it('starts empty from a missing or unreadable file', async () => {
    expect(new NotReproducibleProjects(file).list()).toEqual([]);
    await mkdir(join(dir, 'action-cache'), { recursive: true });
    await writeFile(file, '{ not json');
    const projects = new NotReproducibleProjects(file);
    expect(projects.list()).toEqual([]);
    projects.mark(APP, ['src/Lib']);
    expect(new NotReproducibleProjects(file).has('src/Lib/Lib.csproj', APP)).toBe(true);
  });

  it('merges marks peers announce, normalised, reporting only the new ones, and drops invalid ones', () => {
    const projects = new NotReproducibleProjects(file);
    projects.mark(APP, ['src/Lib']);
    const added = projects.merge([
      { repositoryUrl: `${APP}.git`, project: 'src/Lib' },
      { repositoryUrl: 'https://user:token@Git.Example.com/team/other/', project: 'src/Lib' },
      { repositoryUrl: null, project: 'src/Any' },
      { repositoryUrl: APP, project: '' },
      { repositoryUrl: APP, project: 'x'.repeat(5000) },
    ]);
    expect(added).toEqual([
      { repositoryUrl: OTHER, project: 'src/Lib' },
      { repositoryUrl: null, project: 'src/Any' },
    ]);
    expect(projects.merge(added)).toEqual([]);
    expect(new NotReproducibleProjects(file).list()).toHaveLength(3);
  });

  it('keeps at most its bound, dropping the oldest, and announces the newest within the wire bounds', () => {
    const projects = new NotReproducibleProjects(file, 300);
    for (let index = 0; index < 310; index++) projects.mark(APP, [`src/P${index}`]);
    const list = projects.list();
    expect(list).toHaveLength(300);
    expect(list[0]?.project).toBe('src/P10');
    expect(list.at(-1)?.project).toBe('src/P309');
    expect(projects.has('src/P9/P9.csproj', APP)).toBe(false);
    expect(new NotReproducibleProjects(file, 300).list()).toEqual(list);

    // Short marks: the count bound holds, newest kept, oldest first.
    const short = new NotReproducibleProjects(join(dir, 'short.json'));
    short.merge(Array.from({ length: 300 }, (_, index) => ({ repositoryUrl: null, project: `p${index}` })));
    const announced = short.announced();
    expect(announced).toHaveLength(MAX_ANNOUNCED_MARKS);
    expect(announced.at(-1)?.project).toBe('p299');
    expect(announced[0]?.project).toBe(`p${300 - MAX_ANNOUNCED_MARKS}`);

    // Long marks: the byte bound holds; a mark too long for the wire is not announced.
    const long = new NotReproducibleProjects(join(dir, 'long.json'));
    for (let index = 0; index < 40; index++) long.mark(`${APP}/${'r'.repeat(400)}${index}`, ['src/Lib']);
    long.mark(APP, ['y'.repeat(2000)]);
    const some = long.announced();
    expect(some.length).toBeGreaterThan(10);
    expect(some.length).toBeLessThan(40);
    expect(some.at(-1)?.repositoryUrl).toMatch(/39$/);
    expect(some.some((mark) => mark.project.startsWith('y'))).toBe(false);
    expect(new TextEncoder().encode(JSON.stringify(some)).byteLength).toBeLessThanOrEqual(
      MAX_ANNOUNCED_MARK_BYTES,
    );
    expect(long.has(`${'y'.repeat(2000)}/Y.csproj`, APP)).toBe(true);
  });

  it('announces what a presence announcement accepts', () => {
    const projects = new NotReproducibleProjects(file);
    projects.mark(APP, ['src/Lib']);
    projects.merge([{ repositoryUrl: null, project: 'src/Any' }]);
    const parsed = presenceAnnouncementSchema.shape.notReproducible.parse(projects.announced());
    expect(parsed).toEqual(projects.list());
  });
});
