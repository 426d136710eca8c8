/**
 * Planning time of the task engine: `planProjectTasks` (graph, topological order, reference
 * closures, ambient files and a cache key per task) on synthetic solutions, no dotnet involved.
 *
 *   npm run bench:planning [-- --runs 5]
 *
 * The graph is layered like a large solution: 20 layers of 50 projects, each referencing about
 * three projects of the layer below (now and then one further down), with ten input files each,
 * made-up sha256 digests, ambient files (`Directory.Build.props`, `global.json`, `NuGet.config`)
 * at the root and in each layer's folder, and every tenth project a test project. Libraries are
 * packable and the job packs, so a 1,000-project graph plans 1,000 build, 100 test and 900 pack
 * tasks. Goal: a 1,000-project graph plans in under 1 s (median of the runs, after one warm-up).
 * The other sizes are for information only (how it scales); a size whose first run would not fit in
 * what is left of the time budget (judged from the previous size, as if quadratic) is left out, and
 * runs stop early (keeping at least one) when the budget is spent.
 * For the 1,000-project size, also the share of the ambient-file scans: `ambientFilesFor` over every
 * file of the commit, once per planned task as the planner calls it.
 *
 * Deterministic: the same options plan the same graphs.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { ambientFilesFor } from '../src/core/cache-key.js';
import { planProjectTasks, type EvaluatedProject } from '../src/core/project-tasks.js';
import { seededRandom } from '../test/helpers/seeded-random.js';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const RUNS = clamp(Number(values.runs), 1, 20);
const PROJECTS_PER_LAYER = 50;
const INPUTS_PER_PROJECT = 10;
const GOAL_MS = 1000;
/** The whole run; the 1,000-project size always runs. */
const TIME_BUDGET_MS = 90_000;
const GOAL_SIZE = 1000;
const SIZES = [250, 500, GOAL_SIZE, 2000];

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : min;
}

const madeUpDigest = (path: string): string => createHash('sha256').update(`bench:${path}`).digest('hex');

interface Graph {
  projects: EvaluatedProject[];
  fileDigests: Map<string, string>;
}

/** A layered solution of `size` projects (see the header), its files and their digests. */
function layeredSolution(size: number, seed: number): Graph {
  const random = seededRandom(seed);
  const fileDigests = new Map<string, string>();
  const addFile = (path: string) => fileDigests.set(path, madeUpDigest(path));
  for (const path of ['Directory.Build.props', 'Directory.Build.targets', 'global.json', 'NuGet.config'])
    addFile(path);
  addFile('README.md');
  const layers: string[][] = [];
  const projects: EvaluatedProject[] = [];
  const layerCount = Math.ceil(size / PROJECTS_PER_LAYER);
  for (let layer = 0; layer < layerCount; layer++) {
    addFile(`src/Layer${layer}/Directory.Build.props`);
    const members: string[] = [];
    const width = Math.min(PROJECTS_PER_LAYER, size - projects.length);
    for (let index = 0; index < width; index++) {
      const name = `Layer${layer}.Project${index}`;
      const dir = `src/Layer${layer}/${name}`;
      const path = `${dir}/${name}.csproj`;
      addFile(path);
      const inputFiles: string[] = [];
      for (let file = 0; file < INPUTS_PER_PROJECT; file++) {
        const input = `${dir}/${file === 0 ? 'Properties/AssemblyInfo' : `Type${file}`}.cs`;
        addFile(input);
        inputFiles.push(input);
      }
      inputFiles.sort();
      const references = new Set<string>();
      const below = layers[layer - 1];
      if (below) {
        for (let pick = 0; pick < 3; pick++) {
          const pool = random() < 0.15 ? (layers[Math.floor(random() * layer)] ?? below) : below;
          const reference = pool[Math.floor(random() * pool.length)];
          if (reference !== undefined) references.add(reference);
        }
      }
      const isTestProject = index % 10 === 9;
      projects.push({
        path,
        targetFrameworks: ['net10.0'],
        isTestProject,
        isPackable: !isTestProject,
        inputFiles,
        projectReferences: [...references].sort(),
      });
      members.push(path);
    }
    layers.push(members);
  }
  return { projects, fileDigests };
}

const JOB = {
  configuration: 'Release',
  targetFramework: null,
  runtimeIdentifier: null,
  platform: 'AnyCPU',
  buildProperties: { ContinuousIntegrationBuild: 'true' },
  runTests: true,
  createPackages: true,
} as const;

const median = (sorted: readonly number[]) => sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;

interface Row {
  size: number;
  files: number;
  references: number;
  tasks: number;
  times: number[];
  /** Goal size only: the ambient-file scans alone, one per task (ms, sorted). */
  ambientTimes: number[];
}

const started = performance.now();
const rows: Row[] = [];
let truncated = false;
for (const size of SIZES) {
  const previous = rows[rows.length - 1];
  const estimate = previous ? median(previous.times) * (size / previous.size) ** 2 : 0;
  const left = TIME_BUDGET_MS - (performance.now() - started);
  if (size !== GOAL_SIZE && 2 * estimate > left) {
    truncated = true;
    continue;
  }
  const times: number[] = [];
  let tasks = 0;
  let graph: Graph | undefined;
  // One warm-up (JIT), then the measured runs, each on a fresh graph object.
  for (let run = 0; run <= RUNS; run++) {
    if (run > 1 && performance.now() - started > TIME_BUDGET_MS) {
      truncated = true;
      break;
    }
    graph = layeredSolution(size, 20_250_101 + size);
    const t0 = performance.now();
    const planned = planProjectTasks({ ...graph, job: JOB, sdkVersion: '10.0.100' });
    const elapsed = performance.now() - t0;
    tasks = planned.length;
    if (run > 0) times.push(elapsed);
  }
  const ambientTimes: number[] = [];
  if (size === GOAL_SIZE && graph) {
    const repoFiles = [...graph.fileDigests.keys()];
    const tasksPerProject = tasks / graph.projects.length;
    for (let run = 0; run < Math.min(3, RUNS); run++) {
      const t0 = performance.now();
      let scans = 0;
      for (const project of graph.projects)
        for (let each = 0; each < tasksPerProject; each++, scans++) ambientFilesFor(project.path, repoFiles);
      if (scans !== tasks) throw new Error(`${scans} scans for ${tasks} tasks`);
      ambientTimes.push(performance.now() - t0);
    }
  }
  rows.push({
    size,
    files: graph?.fileDigests.size ?? 0,
    references: graph?.projects.reduce((sum, project) => sum + project.projectReferences.length, 0) ?? 0,
    tasks,
    times: times.sort((a, b) => a - b),
    ambientTimes: ambientTimes.sort((a, b) => a - b),
  });
}

const table: string[][] = [
  ['projects', 'files', 'references', 'tasks', 'median (ms)', 'min–max (ms)', 'goal', 'met?'],
  ...rows.map((row) => {
    const time = median(row.times);
    const withGoal = row.size === GOAL_SIZE;
    return [
      row.size.toLocaleString('en-US'),
      row.files.toLocaleString('en-US'),
      row.references.toLocaleString('en-US'),
      row.tasks.toLocaleString('en-US'),
      `${time.toFixed(1)} (n=${row.times.length})`,
      `${(row.times[0] ?? 0).toFixed(1)}–${(row.times[row.times.length - 1] ?? 0).toFixed(1)}`,
      withGoal ? `< ${GOAL_MS} ms` : '(information)',
      withGoal ? (time < GOAL_MS ? 'yes' : 'NO') : '',
    ];
  }),
];
console.log(
  `planProjectTasks on layered synthetic solutions: ${PROJECTS_PER_LAYER} projects per layer, ~3 references and ${INPUTS_PER_PROJECT} input files each; median of ${RUNS} run(s) after a warm-up`,
);
console.log('');
printTable(table);
const goalRow = rows.find((row) => row.size === GOAL_SIZE);
if (goalRow && goalRow.ambientTimes.length > 0) {
  const ambient = median(goalRow.ambientTimes);
  console.log(
    `\nof which ambient-file scans (ambientFilesFor over ${goalRow.files.toLocaleString('en-US')} files, once per task, ${goalRow.tasks.toLocaleString('en-US')} calls): ${ambient.toFixed(1)} ms (median of ${goalRow.ambientTimes.length}), ${((100 * ambient) / median(goalRow.times)).toFixed(0)}% of the planning time`,
  );
}
if (truncated)
  console.log(`stopped early: sizes or runs left out to stay within the ${TIME_BUDGET_MS / 1000} s budget`);
console.log(`\ntotal bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);

function printTable(cells: string[][]): void {
  const widths = cells[0]!.map((_, column) => Math.max(...cells.map((row) => row[column]!.length)));
  const line = (row: string[]) =>
    `| ${row.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  console.log(line(cells[0]!));
  console.log(`|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`);
  for (const row of cells.slice(1)) console.log(line(row));
}
