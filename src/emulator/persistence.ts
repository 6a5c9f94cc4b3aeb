/**
 * State on disk: one JSON file in the data dir, written behind changes (debounced) and on close, always
 * via a temporary file and an atomic rename so a crash leaves either the old or the new state.
 */
import { constants } from 'node:fs';
import { access, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const STATE_FILE = 'stripe-emulator.json';
const DEBOUNCE_MS = 50;

/** Prepares the data dir and reads the state file (undefined when there is none yet). */
export async function loadState(dataDir: string): Promise<{ file: string; state: unknown }> {
  const dir = path.resolve(dataDir);
  try {
    await mkdir(dir, { recursive: true });
    await access(dir, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw new Error(
      `Stripe emulator: data dir ${dir} is not usable (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  const file = path.join(dir, STATE_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { file, state: undefined };
    throw new Error(
      `Stripe emulator: cannot read state file ${file} (${(err as NodeJS.ErrnoException).code ?? err})`,
    );
  }
  try {
    return { file, state: JSON.parse(text) };
  } catch {
    throw new Error(`Stripe emulator: state file ${file} is not valid JSON; move it away to start fresh`);
  }
}

/** Debounced, serialized, atomic writer of one file. */
export class WriteBehind {
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;

  constructor(
    private readonly file: string,
    private readonly serialize: () => string,
    private readonly log: (level: 'error', msg: string) => void,
  ) {}

  /** Notes a change; the state is written shortly after. */
  markDirty(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, DEBOUNCE_MS);
    this.timer.unref();
  }

  /** Writes now if anything changed; resolves when the file is on disk. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing = this.writing.then(async () => {
      if (!this.dirty) return;
      this.dirty = false;
      const tmp = `${this.file}.${process.pid}.tmp`;
      try {
        await writeFile(tmp, this.serialize());
        await rename(tmp, this.file);
      } catch (err) {
        this.dirty = true;
        this.log('error', `Stripe emulator: could not write ${this.file}: ${(err as Error).message}`);
      }
    });
    return this.writing;
  }

  /** Deletes the file (after any write in progress). */
  async remove(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty = false;
    await this.writing;
    await rm(this.file, { force: true });
  }
}
