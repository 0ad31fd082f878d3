/**
 * Who each recent workflow run acts as, so that `workflow.step.updated` events, which carry only the run id,
 * reach the run's actor. Run events teach it; a miss (a run started before this process, or forgotten)
 * reads the run once, and every event of that run waits for that read, so frames keep the bus order.
 *
 * @example
 * const actors = new WorkflowRunActors((runId) => store.workflows.findRun(runId).then((run) => run?.actorId));
 * actors.withActor(step.runId, undefined, (actorId) => send(actorId, frame));
 */
export class WorkflowRunActors {
  readonly #find: (runId: string) => Promise<string | undefined>;
  readonly #capacity: number;
  readonly #actors = new Map<string, string>();
  readonly #lookups = new Map<string, Promise<string | undefined>>();

  constructor(find: (runId: string) => Promise<string | undefined>, capacity = 10_000) {
    this.#find = find;
    this.#capacity = capacity;
  }

  /**
   * Calls `deliver` with the actor of `runId` (undefined when the run cannot be found): at once when it is
   * known (or given as `knownActorId`), otherwise once the run has been read.
   */
  withActor(
    runId: string,
    knownActorId: string | undefined,
    deliver: (actorId: string | undefined) => void,
  ): void {
    if (knownActorId !== undefined) this.#remember(runId, knownActorId);
    const pending = this.#lookups.get(runId);
    if (pending !== undefined) {
      void pending.then(() => deliver(knownActorId ?? this.#actors.get(runId)));
      return;
    }
    const actorId = this.#actors.get(runId);
    if (actorId !== undefined) {
      deliver(actorId);
      return;
    }
    const lookup = this.#find(runId).then(
      (found) => found,
      () => undefined,
    );
    this.#lookups.set(runId, lookup);
    void lookup.then((found) => {
      if (this.#lookups.get(runId) === lookup) this.#lookups.delete(runId);
      if (found !== undefined && !this.#actors.has(runId)) this.#remember(runId, found);
      deliver(found);
    });
  }

  #remember(runId: string, actorId: string): void {
    // A Map keeps insertion order: re-inserting marks the run as recent, the first key is the oldest.
    this.#actors.delete(runId);
    this.#actors.set(runId, actorId);
    if (this.#actors.size > this.#capacity) {
      const oldest = this.#actors.keys().next().value;
      if (oldest !== undefined) this.#actors.delete(oldest);
    }
  }
}
