import { EventEmitter } from 'node:events';

/** EventEmitter with typed event names and listener arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any[] is what lets every listener signature fit the constraint
export class TypedEmitter<Events extends { [K in keyof Events]: (...args: any[]) => void }> {
  private readonly emitter = new EventEmitter();

  on<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.emitter.on(event as string, listener);
    return this;
  }

  once<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.emitter.once(event as string, listener);
    return this;
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): this {
    this.emitter.off(event as string, listener);
    return this;
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): boolean {
    return this.emitter.emit(event as string, ...args);
  }

  protected listenerCount<E extends keyof Events>(event: E): number {
    return this.emitter.listenerCount(event as string);
  }

  protected removeAllListeners(): void {
    this.emitter.removeAllListeners();
  }
}
