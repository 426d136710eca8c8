/**
 * This agent's build slots (`maxConcurrentBuilds`), shared by the builds it runs for itself and
 * those it accepts from peers. Presence announces what is free.
 */
export class AgentSlots {
  private readonly running = new Map<number, string>();
  private readonly waiters: (() => void)[] = [];
  private readonly listeners: (() => void)[] = [];
  private nextTicket = 1;

  constructor(readonly capacity: number) {}

  free(): number {
    return Math.max(0, this.capacity - this.running.size);
  }

  jobs(): string[] {
    return [...this.running.values()];
  }

  /** Takes a slot now, or returns null when none is free. */
  tryAcquire(job: string): (() => void) | null {
    if (this.free() === 0) return null;
    const ticket = this.nextTicket++;
    this.running.set(ticket, job);
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

  /** Waits for a slot. */
  async acquire(job: string, signal?: AbortSignal): Promise<() => void> {
    for (;;) {
      const release = this.tryAcquire(job);
      if (release) return release;
      signal?.throwIfAborted();
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
