/**
 * Due work keyed on emulator time. Resources register task kinds (invoice due dates, subscription
 * renewals, SEPA settlement ...) and schedule them with `schedule(at, kind, payload)`; the emulator
 * runs each task once the clock has reached `at` — through `advance()` or plain passing time — in time
 * order (ties in scheduling order). Tasks are persisted with the rest of the state.
 */
import { newId } from './ids.ts';

/** A scheduled unit of work; the payload must be JSON. */
export interface Task {
  id: string;
  at: number;
  kind: string;
  payload: unknown;
  seq: number;
}

export class Scheduler {
  private tasks: Task[] = [];
  private seq = 0;

  constructor(private readonly onChange: () => void = () => {}) {}

  /** Adds a task due at `at` (unix seconds, emulator time); returns its id. */
  schedule(at: number, kind: string, payload: unknown): string {
    const task: Task = { id: newId('task'), at, kind, payload: structuredClone(payload), seq: ++this.seq };
    this.tasks.push(task);
    this.onChange();
    return task.id;
  }

  /** Removes a task that has not run yet; true when it was there. */
  cancel(id: string): boolean {
    const before = this.tasks.length;
    this.tasks = this.tasks.filter((t) => t.id !== id);
    if (this.tasks.length !== before) this.onChange();
    return this.tasks.length !== before;
  }

  /** The next task due at or before `upTo`, removed from the queue. */
  takeNextDue(upTo: number): Task | undefined {
    const next = this.peek();
    if (!next || next.at > upTo) return undefined;
    this.tasks = this.tasks.filter((t) => t !== next);
    this.onChange();
    return next;
  }

  /** The earliest task, without removing it. */
  peek(): Task | undefined {
    let best: Task | undefined;
    for (const t of this.tasks)
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    return best;
  }

  /** Pending tasks, earliest first (for inspection and tests). */
  pending(): Task[] {
    return [...this.tasks].sort((a, b) => a.at - b.at || a.seq - b.seq);
  }

  snapshot(): { seq: number; tasks: Task[] } {
    return { seq: this.seq, tasks: this.tasks };
  }
  restore(snap: { seq: number; tasks: Task[] } | undefined): void {
    this.seq = snap?.seq ?? 0;
    this.tasks = snap?.tasks ?? [];
  }
}
