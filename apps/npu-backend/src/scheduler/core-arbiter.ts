/**
 * Several models loaded at once share the machine's cores by taking turns: each model's engine
 * uses every core for its step, and steps of different models run one after another in the order
 * they were asked for. A busy model can therefore never starve another: with k models busy, each
 * gets every k-th step. Idle engines cost nothing (their pools sleep).
 */
export class CoreArbiter {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `work` once every earlier turn has finished (first come, first served). */
  run<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(work);
    this.tail = turn.catch(() => undefined);
    return turn;
  }
}
