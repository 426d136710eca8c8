import { InvalidGraphError } from './errors.js';
import { sortTopologically } from './solution-graph.js';

/**
 * Scheduling of a task DAG (project build, test and pack tasks) onto peers with slots.
 *
 * Two policies, each usable online by a real executor ({@link SchedulingPolicy.pickNext}: given what
 * is ready, what runs and which slots are free, which task goes where) and offline by the
 * {@link simulate} function, which drives the same policy over estimated costs:
 * - `critical-path` — list scheduling: a task is ready when its dependencies are done; the ready task
 *   with the longest remaining path (its cost plus the costliest chain of dependents) goes first, to the
 *   fastest free eligible peer, preferring one that already holds its inputs when otherwise equal;
 * - `waves` — topological levels: a level starts only when the previous level has entirely finished;
 *   within a level the costliest task goes first, to the peer with the most free slots.
 *
 * Pure: no clock, no I/O. Costs are estimates in any unit (seconds, say); makespans are in that unit.
 */

/**
 * How tasks are ordered:
 * - `critical-path` — longest remaining path first, a task starts as soon as its dependencies are done;
 * - `waves` — topological level by level, each level waiting for the whole previous one.
 */
export type ScheduleKind = 'critical-path' | 'waves';

/** Every schedule kind. */
export const SCHEDULE_KINDS = ['critical-path', 'waves'] as const satisfies readonly ScheduleKind[];

/** A node of the task DAG. */
export interface DagTask {
  id: string;
  /** Estimated duration on a peer of speed 1; finite, ≥ 0. */
  cost: number;
  /** Ids of the tasks that must finish first. */
  dependencies: readonly string[];
  /** Peers that already hold this task's inputs; a tie-breaker only. */
  preferredPeers?: readonly string[];
  /** When set, the only peers that can run it (capabilities); otherwise any peer. */
  eligiblePeers?: readonly string[];
}

/** The task graph. Ids are unique, dependencies name tasks of the graph, and there is no cycle. */
export interface TaskDag {
  tasks: readonly DagTask[];
}

/** A peer for the simulator and the lower bound. */
export interface SchedulingPeer {
  id: string;
  /** Tasks it runs at once; an integer ≥ 1. */
  slots: number;
  /** Relative speed: a task takes `cost / speed`. Default 1. */
  speed?: number;
}

/** A task whose dependencies are done and that is not running, as the executor sees it now. */
export interface ReadyTask {
  id: string;
  /** Peers that hold its inputs now (the DAG's hint, and where its dependencies ran). */
  preferredPeers?: readonly string[];
  /** When set, the only peers it may go to now (capabilities, minus peers excluded after a failure). */
  eligiblePeers?: readonly string[];
}

/** A peer with at least one free slot. */
export interface FreePeer {
  id: string;
  freeSlots: number;
  /** Default 1. */
  speed?: number;
}

/** What the executor knows when a slot frees up or a task becomes ready. */
export interface SchedulingState {
  ready: readonly ReadyTask[];
  /**
   * Ids of the tasks started and not finished: running now, or waiting for a retry after an
   * infrastructure failure. (Waves decide the current level from `ready` and `running`, so a task
   * between attempts must be listed here or the next level could start early.)
   */
  running: readonly string[];
  freePeers: readonly FreePeer[];
}

/** Start `task` on `peer`. */
export interface TaskAssignment {
  task: string;
  peer: string;
}

/** An online scheduling policy for one DAG. */
export interface SchedulingPolicy {
  readonly kind: ScheduleKind;
  /**
   * The tasks to start now and their peers, in start order. Uses at most the free slots given, never
   * a peer outside a task's `eligiblePeers`, and each ready task at most once. It may leave tasks and
   * slots unused (waves: the next level waits). Costs O(R log R + R·P) for R ready tasks and P peers.
   *
   * @throws InvalidGraphError when a ready or running id is not a task of the DAG
   */
  pickNext(state: SchedulingState): TaskAssignment[];
  /** A task's remaining path: its cost plus the costliest chain of tasks that depend on it. */
  remainingPath(taskId: string): number;
  /** A task's topological level (0 = no dependencies). */
  level(taskId: string): number;
}

/** What the DAG analysis yields, shared by the policies, the simulator and the lower bound. */
interface DagAnalysis {
  tasks: readonly DagTask[];
  indexOf: Map<string, number>;
  dependents: number[][];
  levelOf: number[];
  remainingPath: number[];
  criticalPath: number;
  totalWork: number;
}

const analyses = new WeakMap<TaskDag, DagAnalysis>();

/**
 * Validates the DAG and computes levels and remaining paths, once per DAG object.
 *
 * @throws InvalidGraphError on duplicate ids, unknown dependencies or invalid costs
 * @throws CycleDetectedError naming the cycle
 */
function analyse(dag: TaskDag): DagAnalysis {
  const cached = analyses.get(dag);
  if (cached) return cached;
  const { tasks } = dag;
  const problems = tasks
    .filter((task) => !Number.isFinite(task.cost) || task.cost < 0)
    .map((task) => `task '${task.id}' has an invalid cost ${task.cost}`);
  if (problems.length > 0) throw new InvalidGraphError(problems);
  const sorted = sortTopologically(tasks, { what: 'Task dependency' });
  const indexOf = new Map(tasks.map((task, index) => [task.id, index]));
  const dependents: number[][] = tasks.map(() => []);
  tasks.forEach((task, index) => {
    for (const dependency of new Set(task.dependencies))
      dependents[indexOf.get(dependency) ?? 0]?.push(index);
  });
  const levelOf = tasks.map((task) => sorted.levelOf.get(task.id) ?? 0);
  const remainingPath = new Array<number>(tasks.length).fill(0);
  for (let position = sorted.order.length - 1; position >= 0; position--) {
    const index = indexOf.get(sorted.order[position] ?? '') ?? 0;
    let longest = 0;
    for (const dependent of dependents[index] ?? [])
      longest = Math.max(longest, remainingPath[dependent] ?? 0);
    remainingPath[index] = (tasks[index]?.cost ?? 0) + longest;
  }
  const analysis: DagAnalysis = {
    tasks,
    indexOf,
    dependents,
    levelOf,
    remainingPath,
    criticalPath: remainingPath.reduce((max, value) => Math.max(max, value), 0),
    totalWork: tasks.reduce((sum, task) => sum + task.cost, 0),
  };
  analyses.set(dag, analysis);
  return analysis;
}

/** The costliest dependency chain of the DAG (at speed 1). */
export function criticalPathLength(dag: TaskDag): number {
  return analyse(dag).criticalPath;
}

/**
 * No schedule can finish sooner than this: `max(critical path, total work ÷ total slots)`, with
 * both sides divided by the peers' speed (the critical path by the fastest peer's).
 *
 * @throws InvalidGraphError when there is no peer or a peer is invalid
 */
export function lowerBound(dag: TaskDag, peers: readonly SchedulingPeer[]): number {
  checkPeers(peers);
  const { criticalPath, totalWork } = analyse(dag);
  const capacity = peers.reduce((sum, peer) => sum + peer.slots * (peer.speed ?? 1), 0);
  const fastest = peers.reduce((max, peer) => Math.max(max, peer.speed ?? 1), 0);
  return Math.max(criticalPath / fastest, totalWork / capacity);
}

/**
 * Creates the online policy of `kind` for one DAG. The DAG is analysed here (validated, levels and
 * remaining paths computed): O(V log V + E).
 *
 * @throws InvalidGraphError, CycleDetectedError when the DAG is malformed
 */
export function createSchedulingPolicy(dag: TaskDag, kind: ScheduleKind): SchedulingPolicy {
  const analysis = analyse(dag);
  const { tasks, indexOf, levelOf, remainingPath } = analysis;
  // A fixed rank per task makes each pick a sort of small integers.
  const rankBy = (compare: (a: number, b: number) => number): number[] => {
    const order = tasks.map((_task, index) => index).sort(compare);
    const rank = new Array<number>(tasks.length);
    order.forEach((index, position) => (rank[index] = position));
    return rank;
  };
  const byId = (a: number, b: number): number => compareStrings(tasks[a]?.id ?? '', tasks[b]?.id ?? '');
  const rank =
    kind === 'critical-path'
      ? rankBy((a, b) => (remainingPath[b] ?? 0) - (remainingPath[a] ?? 0) || byId(a, b))
      : rankBy((a, b) => (tasks[b]?.cost ?? 0) - (tasks[a]?.cost ?? 0) || byId(a, b));

  const indexOfTask = (id: string, what: string): number => {
    const index = indexOf.get(id);
    if (index === undefined) throw new InvalidGraphError([`${what} task '${id}' is not in the DAG`]);
    return index;
  };

  return {
    kind,
    remainingPath: (taskId) => remainingPath[indexOfTask(taskId, 'the')] ?? 0,
    level: (taskId) => levelOf[indexOfTask(taskId, 'the')] ?? 0,
    pickNext(state) {
      const ready = state.ready.map((task) => ({ task, index: indexOfTask(task.id, 'ready') }));
      let candidates = ready;
      if (kind === 'waves') {
        // The lowest level with an unfinished task always has a ready or running task (every unfinished
        // task of the lowest level has all its dependencies done), so ready ∪ running tells the wave.
        let wave = Number.POSITIVE_INFINITY;
        for (const id of state.running) wave = Math.min(wave, levelOf[indexOfTask(id, 'running')] ?? 0);
        for (const { index } of ready) wave = Math.min(wave, levelOf[index] ?? 0);
        candidates = ready.filter(({ index }) => levelOf[index] === wave);
      }
      candidates.sort((a, b) => (rank[a.index] ?? 0) - (rank[b.index] ?? 0));
      const free = state.freePeers
        .filter((peer) => peer.freeSlots > 0)
        .map((peer) => ({ id: peer.id, freeSlots: Math.floor(peer.freeSlots), speed: peer.speed ?? 1 }));
      let slotsLeft = free.reduce((sum, peer) => sum + peer.freeSlots, 0);
      const assignments: TaskAssignment[] = [];
      const started = new Set<string>();
      for (const { task } of candidates) {
        if (slotsLeft === 0) break;
        if (started.has(task.id)) continue;
        const peer = choosePeer(kind, task, free);
        if (peer === undefined) continue;
        peer.freeSlots--;
        slotsLeft--;
        started.add(task.id);
        assignments.push({ task: task.id, peer: peer.id });
      }
      return assignments;
    },
  };
}

interface MutableFreePeer {
  id: string;
  freeSlots: number;
  speed: number;
}

/**
 * Critical path: the fastest peer, then one holding the inputs, then the emptiest. Waves: the emptiest
 * peer (spreading the level evenly), then one holding the inputs, then the fastest. Ties go to the
 * smaller id, so a schedule is a function of its inputs.
 */
function choosePeer(
  kind: ScheduleKind,
  task: ReadyTask,
  peers: MutableFreePeer[],
): MutableFreePeer | undefined {
  const eligible = task.eligiblePeers ? new Set(task.eligiblePeers) : undefined;
  const preferred = new Set(task.preferredPeers ?? []);
  let best: MutableFreePeer | undefined;
  let bestScore: number[] = [];
  for (const peer of peers) {
    if (peer.freeSlots <= 0 || (eligible && !eligible.has(peer.id))) continue;
    const holdsInputs = preferred.has(peer.id) ? 1 : 0;
    const score =
      kind === 'critical-path'
        ? [peer.speed, holdsInputs, peer.freeSlots]
        : [peer.freeSlots, holdsInputs, peer.speed];
    if (
      best === undefined ||
      isBetter(score, bestScore) ||
      (isEqual(score, bestScore) && peer.id < best.id)
    ) {
      best = peer;
      bestScore = score;
    }
  }
  return best;
}

function isBetter(score: readonly number[], than: readonly number[]): boolean {
  for (let index = 0; index < score.length; index++) {
    const a = score[index] ?? 0;
    const b = than[index] ?? 0;
    if (a !== b) return a > b;
  }
  return false;
}

function isEqual(score: readonly number[], than: readonly number[]): boolean {
  return score.every((value, index) => value === than[index]);
}

/** One task of a simulated schedule. */
export interface SimulatedAssignment {
  task: string;
  peer: string;
  start: number;
  end: number;
}

/** A simulated schedule. */
export interface SimulationResult {
  /** When the last task ends (0 for an empty DAG). */
  makespan: number;
  /** Every task once, in start order. */
  assignments: SimulatedAssignment[];
  /** Tasks placed on one of their preferred peers (with `locality`, a peer that ran a dependency). */
  localityHits: number;
}

/** Options of {@link simulate}. */
export interface SimulationOptions {
  /**
   * Whether a task's preferred peers include the peers that ran its dependencies (they hold those
   * outputs), as a real executor would report. Default true.
   */
  locality?: boolean;
}

/**
 * Runs `policy` over the DAG's estimated costs on `peers`, event by event, exactly as an executor
 * would call it: after every batch of completions, with the ready tasks, the running ones and the
 * free slots. The result is a plan and its makespan.
 *
 * @throws InvalidGraphError when the peers are invalid, a task has no eligible peer, or the policy
 *   returns an assignment that breaks the rules (unknown or not-ready task, no free slot, ineligible peer)
 */
export function simulate(
  dag: TaskDag,
  peers: readonly SchedulingPeer[],
  policy: SchedulingPolicy,
  options: SimulationOptions = {},
): SimulationResult {
  checkPeers(peers);
  const locality = options.locality ?? true;
  const { tasks, indexOf, dependents } = analyse(dag);
  const peerById = new Map(peers.map((peer) => [peer.id, peer]));
  const freeSlots = new Map(peers.map((peer) => [peer.id, peer.slots]));
  const waitingOn = tasks.map((task) => new Set(task.dependencies).size);
  const ranOn: (string | undefined)[] = new Array<string | undefined>(tasks.length);

  const readyTaskFor = (index: number): ReadyTask => {
    const task = tasks[index] as DagTask;
    const preferred = new Set(task.preferredPeers ?? []);
    if (locality) {
      for (const dependency of task.dependencies) {
        const peer = ranOn[indexOf.get(dependency) ?? -1];
        if (peer !== undefined) preferred.add(peer);
      }
    }
    const ready: ReadyTask = { id: task.id, preferredPeers: [...preferred] };
    if (task.eligiblePeers) ready.eligiblePeers = task.eligiblePeers;
    return ready;
  };

  // Insertion-ordered: tasks in the order they became ready, as an executor's queue would hold them.
  const ready = new Map<number, ReadyTask>();
  tasks.forEach((_task, index) => {
    if (waitingOn[index] === 0) ready.set(index, readyTaskFor(index));
  });
  const running = new Map<number, number>();
  const events = new MinHeap();
  const assignments: SimulatedAssignment[] = [];
  let localityHits = 0;
  let now = 0;
  let finished = 0;

  while (finished < tasks.length) {
    const totalFree = [...freeSlots.values()].reduce((sum, slots) => sum + slots, 0);
    if (ready.size > 0 && totalFree > 0) {
      const picked = policy.pickNext({
        ready: [...ready.values()],
        running: [...running.keys()].map((index) => tasks[index]?.id ?? ''),
        freePeers: peers.flatMap((peer) => {
          const slots = freeSlots.get(peer.id) ?? 0;
          return slots > 0 ? [{ id: peer.id, freeSlots: slots, speed: peer.speed ?? 1 }] : [];
        }),
      });
      for (const { task: taskId, peer: peerId } of picked) {
        const index = indexOf.get(taskId);
        const readyTask = index === undefined ? undefined : ready.get(index);
        const peer = peerById.get(peerId);
        const slots = freeSlots.get(peerId) ?? 0;
        if (index === undefined || readyTask === undefined)
          throw policyError(policy, `'${taskId}' is not ready`);
        if (peer === undefined || slots <= 0) throw policyError(policy, `peer '${peerId}' has no free slot`);
        if (readyTask.eligiblePeers && !readyTask.eligiblePeers.includes(peerId)) {
          throw policyError(policy, `'${taskId}' cannot run on '${peerId}'`);
        }
        if (readyTask.preferredPeers?.includes(peerId)) localityHits++;
        ready.delete(index);
        freeSlots.set(peerId, slots - 1);
        const end = now + (tasks[index]?.cost ?? 0) / (peer.speed ?? 1);
        running.set(index, assignments.length);
        assignments.push({ task: taskId, peer: peerId, start: now, end });
        events.push(end, index);
      }
    }

    const next = events.peekTime();
    if (next === undefined) {
      const stuck = [...ready.values()].map((task) => task.id).sort(compareStrings);
      throw new InvalidGraphError([
        `no peer can run ${stuck.slice(0, 5).join(', ')}${stuck.length > 5 ? '…' : ''}`,
      ]);
    }
    now = next;
    // Every completion at this instant is applied before the policy runs again, as an executor would.
    while (events.peekTime() === now) {
      const index = events.pop() as number;
      const assignment = assignments[running.get(index) ?? -1] as SimulatedAssignment;
      running.delete(index);
      ranOn[index] = assignment.peer;
      freeSlots.set(assignment.peer, (freeSlots.get(assignment.peer) ?? 0) + 1);
      finished++;
      for (const dependent of dependents[index] ?? []) {
        const left = (waitingOn[dependent] ?? 0) - 1;
        waitingOn[dependent] = left;
        if (left === 0) ready.set(dependent, readyTaskFor(dependent));
      }
    }
  }

  const makespan = assignments.reduce((max, assignment) => Math.max(max, assignment.end), 0);
  return { makespan, assignments, localityHits };
}

function policyError(policy: SchedulingPolicy, message: string): InvalidGraphError {
  return new InvalidGraphError([`the ${policy.kind} policy broke a rule: ${message}`]);
}

function checkPeers(peers: readonly SchedulingPeer[]): void {
  const problems: string[] = [];
  if (peers.length === 0) problems.push('there is no peer');
  const seen = new Set<string>();
  for (const peer of peers) {
    if (seen.has(peer.id)) problems.push(`duplicate peer '${peer.id}'`);
    seen.add(peer.id);
    if (!Number.isInteger(peer.slots) || peer.slots < 1)
      problems.push(`peer '${peer.id}' has invalid slots ${peer.slots}`);
    const speed = peer.speed ?? 1;
    if (!Number.isFinite(speed) || speed <= 0) problems.push(`peer '${peer.id}' has invalid speed ${speed}`);
  }
  if (problems.length > 0) throw new InvalidGraphError(problems);
}

/** A binary min-heap of (time, task index); equal times pop in insertion-independent index order. */
class MinHeap {
  private readonly times: number[] = [];
  private readonly values: number[] = [];

  push(time: number, value: number): void {
    this.times.push(time);
    this.values.push(value);
    let child = this.times.length - 1;
    while (child > 0) {
      const parent = (child - 1) >> 1;
      if (!this.less(child, parent)) break;
      this.swap(child, parent);
      child = parent;
    }
  }

  peekTime(): number | undefined {
    return this.times[0];
  }

  pop(): number | undefined {
    const top = this.values[0];
    const last = this.times.length - 1;
    if (last < 0) return undefined;
    this.swap(0, last);
    this.times.pop();
    this.values.pop();
    let parent = 0;
    for (;;) {
      const left = 2 * parent + 1;
      const right = left + 1;
      let smallest = parent;
      if (left < this.times.length && this.less(left, smallest)) smallest = left;
      if (right < this.times.length && this.less(right, smallest)) smallest = right;
      if (smallest === parent) break;
      this.swap(parent, smallest);
      parent = smallest;
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const ta = this.times[a] ?? 0;
    const tb = this.times[b] ?? 0;
    return ta < tb || (ta === tb && (this.values[a] ?? 0) < (this.values[b] ?? 0));
  }

  private swap(a: number, b: number): void {
    [this.times[a], this.times[b]] = [this.times[b] ?? 0, this.times[a] ?? 0];
    [this.values[a], this.values[b]] = [this.values[b] ?? 0, this.values[a] ?? 0];
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
