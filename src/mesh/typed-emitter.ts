/**
 * A minimal typed event emitter for mesh services: `on` returns the function that unsubscribes.
 * A listener that throws is reported to `onListenerError` and never breaks the emitter.
 */
export class TypedEmitter<Events extends Record<string, unknown>> {
  private readonly listeners = new Map<keyof Events, Set<(detail: never) => void>>();

  constructor(private readonly onListenerError: (event: string, error: unknown) => void = () => {}) {}

  /** Calls `listener` with each `event` until the returned function is called. */
  on<K extends keyof Events>(event: K, listener: (detail: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) {
      set = new Set();
      this.listeners.set(event, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
    };
  }

  /** Calls every listener of `event` synchronously. */
  emit<K extends keyof Events>(event: K, detail: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set] as Array<(detail: Events[K]) => void>) {
      try {
        listener(detail);
      } catch (error) {
        this.onListenerError(String(event), error);
      }
    }
  }
}
