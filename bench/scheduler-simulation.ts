/**
 * Scheduler simulation: critical-path list scheduling against waves, on synthetic layered DAGs.
 *
 *   npx tsx bench/scheduler-simulation.ts [-- --dags 5 --max-tasks 2000 --distribution lognormal|pareto]
 *
 * For each DAG size and peer count (1–64 peers, one slot each), several seeded random layered DAGs
 * with skewed task costs are planned by both policies through `simulate`. Each makespan is divided by
 * the lower bound max(critical path, total work ÷ slots); the table shows the average and the worst
 * ratio per policy. Goal: critical-path ≤ 1.05× on average, and never worse than waves.
 * Then the time to plan a 1,000-task DAG (analysis + simulation), goal < 1 s.
 *
 * Deterministic: the same options print the same ratios.
 */
import { parseArgs } from 'node:util';
import {
  createSchedulingPolicy,
  lowerBound,
  simulate,
  type DagTask,
  type ScheduleKind,
  type SchedulingPeer,
  type TaskDag,
} from '../src/core/task-scheduler.js';
import { seededRandom } from '../test/helpers/seeded-random.js';

const { values } = parseArgs({
  options: {
    dags: { type: 'string', default: '5' },
    'max-tasks': { type: 'string', default: '2000' },
    distribution: { type: 'string', default: 'lognormal' },
  },
});
const DAGS_PER_SIZE = clamp(Number(values.dags), 1, 20);
const MAX_TASKS = clamp(Number(values['max-tasks']), 10, 2000);
const DISTRIBUTION = values.distribution === 'pareto' ? 'pareto' : 'lognormal';
const SIZES = [50, 200, 500, 1000, 2000].filter((size) => size <= MAX_TASKS);
const PEER_COUNTS = [1, 2, 4, 8, 16, 32, 64];
/** The whole run stops taking new cases after this, and says so. */
const TIME_BUDGET_MS = 120_000;

function clamp(value: number, min: number, max: number): number {
  return Number.isFinite(value) ? Math.min(max, Math.max(min, Math.floor(value))) : min;
}

/** Skewed costs: lognormal(μ=0, σ=1) via Box–Muller, or Pareto(xₘ=1, α=1.5), capped at 100. */
function costSampler(random: () => number): () => number {
  if (DISTRIBUTION === 'pareto') return () => Math.min(100, 1 / Math.pow(1 - random(), 1 / 1.5));
  return () => {
    const u = Math.max(random(), Number.EPSILON);
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
    return Math.exp(normal);
  };
}

/**
 * A layered DAG shaped like a large solution: 4–40 layers of uneven width; a task references one to
 * four tasks of the layer below, and now and then one further down.
 */
function layeredDag(seed: number, size: number): TaskDag {
  const random = seededRandom(seed);
  const cost = costSampler(random);
  const layerCount = Math.min(size, 4 + Math.floor(random() * 37));
  const weights = Array.from({ length: layerCount }, () => 0.3 + random());
  const totalWeight = weights.reduce((sum, weight) => sum + weight, 0);
  const layers: string[][] = [];
  const tasks: DagTask[] = [];
  let made = 0;
  for (let layer = 0; layer < layerCount; layer++) {
    const remainingLayers = layerCount - layer - 1;
    const share = Math.round((size * (weights[layer] ?? 1)) / totalWeight);
    const width =
      layer === layerCount - 1 ? size - made : Math.max(1, Math.min(share, size - made - remainingLayers));
    const members: string[] = [];
    for (let position = 0; position < width; position++) {
      const id = `t${made++}`;
      const dependencies = new Set<string>();
      if (layer > 0) {
        const below = layers[layer - 1] ?? [];
        const count = 1 + Math.floor(random() * 4);
        for (let pick = 0; pick < count; pick++) {
          const pool = random() < 0.15 ? (layers[Math.floor(random() * layer)] ?? below) : below;
          const dependency = pool[Math.floor(random() * pool.length)];
          if (dependency !== undefined) dependencies.add(dependency);
        }
      }
      tasks.push({ id, cost: cost(), dependencies: [...dependencies] });
      members.push(id);
    }
    layers.push(members);
  }
  return { tasks };
}

const peersOf = (count: number): SchedulingPeer[] =>
  Array.from({ length: count }, (_unused, index) => ({ id: `peer-${index}`, slots: 1 }));

function ratio(dag: TaskDag, peers: SchedulingPeer[], kind: ScheduleKind): number {
  const result = simulate(dag, peers, createSchedulingPolicy(dag, kind));
  return result.makespan / lowerBound(dag, peers);
}

interface Row {
  size: number;
  peers: number;
  cpAverage: number;
  cpWorst: number;
  wavesAverage: number;
  wavesWorst: number;
  cpWorseThanWaves: number;
  dags: number;
}

const started = performance.now();
const rows: Row[] = [];
const allCp: number[] = [];
let cpWorseCount = 0;
let truncated = false;
outer: for (const size of SIZES) {
  const dags = Array.from({ length: DAGS_PER_SIZE }, (_unused, index) =>
    layeredDag(size * 1000 + index, size),
  );
  for (const peerCount of PEER_COUNTS) {
    if (performance.now() - started > TIME_BUDGET_MS) {
      truncated = true;
      break outer;
    }
    const peers = peersOf(peerCount);
    const cp: number[] = [];
    const waves: number[] = [];
    let worse = 0;
    for (const dag of dags) {
      const cpRatio = ratio(dag, peers, 'critical-path');
      const wavesRatio = ratio(dag, peers, 'waves');
      cp.push(cpRatio);
      waves.push(wavesRatio);
      if (cpRatio > wavesRatio + 1e-9) worse++;
    }
    allCp.push(...cp);
    cpWorseCount += worse;
    rows.push({
      size,
      peers: peerCount,
      cpAverage: average(cp),
      cpWorst: Math.max(...cp),
      wavesAverage: average(waves),
      wavesWorst: Math.max(...waves),
      cpWorseThanWaves: worse,
      dags: dags.length,
    });
  }
}

function average(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / Math.max(1, values.length);
}

const fmt = (value: number): string => value.toFixed(3);
console.log(
  `Scheduler simulation: makespan ÷ lower bound, ${DAGS_PER_SIZE} layered DAGs per size, ${DISTRIBUTION} costs, 1 slot per peer`,
);
console.log('');
console.log(
  '| tasks | peers | critical-path avg | critical-path worst | waves avg | waves worst | CP worse than waves |',
);
console.log(
  '|------:|------:|------------------:|--------------------:|----------:|------------:|--------------------:|',
);
for (const row of rows) {
  console.log(
    `| ${row.size} | ${row.peers} | ${fmt(row.cpAverage)} | ${fmt(row.cpWorst)} | ${fmt(row.wavesAverage)} | ${fmt(row.wavesWorst)} | ${row.cpWorseThanWaves}/${row.dags} |`,
  );
}
console.log('');
const overall = average(allCp);
console.log(
  `critical-path over all ${allCp.length} cases: average ${fmt(overall)}× the lower bound (goal ≤ 1.050: ${overall <= 1.05 ? 'met' : 'NOT met'}), worst ${fmt(Math.max(...allCp))}×; worse than waves in ${cpWorseCount} case(s) (goal 0: ${cpWorseCount === 0 ? 'met' : 'NOT met'})`,
);
if (truncated) console.log(`stopped early: the ${TIME_BUDGET_MS / 1000} s budget ran out`);

// Planning time: analysis + simulation of a 1,000-task DAG, median of 5, per peer count.
console.log('');
console.log('| plan 1,000 tasks | 1 peer | 8 peers | 64 peers |');
console.log('|------------------|-------:|--------:|---------:|');
for (const kind of ['critical-path', 'waves'] as const) {
  const cells = [1, 8, 64].map((peerCount) => {
    const times: number[] = [];
    for (let run = 0; run < 5; run++) {
      // A fresh DAG object each time, so the cached analysis is not reused.
      const dag = { tasks: layeredDag(424242, 1000).tasks };
      const t0 = performance.now();
      simulate(dag, peersOf(peerCount), createSchedulingPolicy(dag, kind));
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    return `${(times[2] ?? 0).toFixed(1)} ms`;
  });
  console.log(`| ${kind} | ${cells.join(' | ')} |`);
}
console.log(`\ntotal bench time ${((performance.now() - started) / 1000).toFixed(1)} s`);
