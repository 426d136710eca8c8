import type { BuildOutcome } from '../core/build-execution.js';
import { OperationAbortedError, errorMessage } from '../core/errors.js';

/** A slot held for a peer's work, which this machine may hand back. */
export interface PeerSlotLease {
  release: () => void;
  /** Aborts when the machine hands its peers' work back (its owner came back, or it quits). */
  handedBack: AbortSignal;
}

interface HeldSlot {
  job: string;
  /** Only peers' work can be handed back; the owner's own builds keep running. */
  handBack: AbortController | null;
}

/**
 * This agent's build slots (`maxParallelBuilds`), shared by the builds it runs for itself and
 * those it accepts from peers. Presence announces what is free. The capacity can change while
 * work runs: fewer slots only stop new work.
 */
export class AgentSlots {
  private readonly running = new Map<number, HeldSlot>();
  private readonly waiters: (() => void)[] = [];
  private readonly listeners: (() => void)[] = [];
  private nextTicket = 1;

  constructor(private slotCount: number) {}

  get capacity(): number {
    return this.slotCount;
  }

  /** Changes how many slots there are; waiting builds take the new ones at once. */
  setCapacity(capacity: number): void {
    if (capacity === this.slotCount) return;
    this.slotCount = capacity;
    this.changed();
    for (let free = this.free(); free > 0 && this.waiters.length > 0; free--) this.waiters.shift()?.();
  }

  free(): number {
    return Math.max(0, this.slotCount - this.running.size);
  }

  jobs(): string[] {
    return [...this.running.values()].map((slot) => slot.job);
  }

  /** Takes a slot now, or returns null when none is free. */
  tryAcquire(job: string): (() => void) | null {
    return this.take(job, null);
  }

  /** Takes a slot for a peer's work now (null when none is free); see {@link handBackPeerWork}. */
  tryAcquireForPeer(job: string): PeerSlotLease | null {
    const handBack = new AbortController();
    const release = this.take(job, handBack);
    return release ? { release, handedBack: handBack.signal } : null;
  }

  /** Waits for a slot. */
  async acquire(job: string, signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      const release = this.tryAcquire(job);
      if (release) return release;
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Aborts every running piece of peers' work with `reason`; returns how many. */
  handBackPeerWork(reason: string): number {
    let count = 0;
    for (const slot of this.running.values()) {
      if (!slot.handBack || slot.handBack.signal.aborted) continue;
      slot.handBack.abort(new OperationAbortedError('cancelled', reason));
      count++;
    }
    return count;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private take(job: string, handBack: AbortController | null): (() => void) | null {
    if (this.free() === 0) return null;
    const ticket = this.nextTicket++;
    this.running.set(ticket, { job, handBack });
    this.changed();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.running.delete(ticket);
      this.changed();
      this.waiters.shift()?.();
    };
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}

/**
 * Runs a peer's work under its lease: a hand-back aborts it, and it then ends as an
 * infrastructure failure, so the coordinator runs it on another peer instead of failing the build.
 */
export async function runHandBackable(
  lease: PeerSlotLease,
  signal: AbortSignal,
  run: (signal: AbortSignal) => Promise<BuildOutcome>,
): Promise<BuildOutcome> {
  const handedBack = (): BuildOutcome | null =>
    lease.handedBack.aborted && !signal.aborted
      ? {
          status: 'Failed',
          errorMessage: `Handed back: ${errorMessage(lease.handedBack.reason)}`,
          failureKind: 'infrastructure',
        }
      : null;
  try {
    const outcome = await run(AbortSignal.any([signal, lease.handedBack]));
    return handedBack() ?? outcome;
  } catch (error) {
    const outcome = handedBack();
    if (outcome) return outcome;
    throw error;
  } finally {
    lease.release();
  }
}
