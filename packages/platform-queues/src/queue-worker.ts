/**
 * Runs a queue's passes in the background: a pass right after `wake()`, otherwise every `pollMs`. Passes
 * never overlap, also when `runPass()` is called from outside (tests, a drain before shutdown).
 */
export class QueueWorker {
  readonly #pass: () => Promise<number>;
  readonly #pollMs: number;
  readonly #onError: (error: unknown) => void;
  #running = false;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #woken = false;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(pass: () => Promise<number>, pollMs: number, onError: (error: unknown) => void) {
    this.#pass = pass;
    this.#pollMs = pollMs;
    this.#onError = onError;
  }

  get running(): boolean {
    return this.#running;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.wake();
    await this.#loop;
    await this.#chain.catch(() => {});
  }

  /** Asks for a pass now (new work arrived). */
  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** One pass, after any pass in progress; resolves with how many items it took. */
  runPass(): Promise<number> {
    const pass = this.#chain.then(() => this.#pass());
    this.#chain = pass.catch(() => {});
    return pass;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      this.#woken = false;
      let taken = 0;
      try {
        taken = await this.runPass();
      } catch (error) {
        this.#onError(error);
      }
      if (!this.#running) break;
      if (taken > 0 || this.#woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#pollMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = undefined;
    }
  }
}
