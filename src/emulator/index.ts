/**
 * The embedded Stripe emulator: an HTTP server the official `stripe` SDK (23.1.0, API
 * 2026-10-28.endive) talks to unmodified:
 *
 * ```ts
 * const emu = await startEmulator({ port: 0 });
 * const stripe = new Stripe('sk_test_x', { host: emu.host, port: emu.port, protocol: 'http' });
 * ```
 *
 * It imports nothing from the rest of the service. See README.md for what it covers and how to add
 * a resource.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createControlHandler } from './control.ts';
import { EmulatorCore, type PersistedState } from './core.ts';
import { loadState, WriteBehind } from './persistence.ts';
import type { ResourceModule } from './resource.ts';
import { builtInResources } from './resources/index.ts';
import { createRequestListener } from './server.ts';

export { API_VERSION } from './events.ts';
export type { ResourceModule } from './resource.ts';

export interface EmulatorOptions {
  /** TCP port; 0 = any free port. */
  port: number;
  /** Interface to listen on; default 127.0.0.1. */
  host?: string;
  /** Directory for the state file; null/undefined = memory only. */
  dataDir?: string | null;
  /** When set, every webhook endpoint created gets this `whsec_` secret. */
  webhookSigningSecret?: string;
  /** Initial emulator clock, unix seconds (default: wall clock). Ignored when state is restored. */
  startTime?: number;
  /** Real-time backoff between webhook delivery attempts, in ms. */
  webhookRetryDelaysMs?: number[];
  /** Timeout of one webhook delivery attempt, in ms (default 10 s). */
  webhookTimeoutMs?: number;
  /** Where the emulator reports; default: silent. */
  log?: (level: 'info' | 'warn' | 'error', msg: string) => void;
  /** Additional resource modules (tests, experiments); built-ins are always registered. */
  extraResources?: ResourceModule[];
}

export interface RunningEmulator {
  /** Base URL, e.g. http://127.0.0.1:12111 */
  url: string;
  host: string;
  port: number;
  /** Emulator clock, unix seconds. */
  now(): number;
  /**
   * Moves the clock forward (negative → throws), runs due scheduled work in time order, then resolves
   * once all resulting webhook deliveries have had their first attempt.
   */
  advance(seconds: number): Promise<void>;
  /** Resolves when no delivery attempt is in flight or immediately due. */
  drainWebhooks(): Promise<void>;
  /** Deliberately reorders / double-delivers webhooks, for tests. */
  setWebhookChaos(opts: { shuffle?: boolean; duplicate?: boolean }): void;
  /** Wipes all state (and the persisted file). */
  reset(): Promise<void>;
  /** Stops the server and persists state. */
  close(): Promise<void>;
}

export const DEFAULT_WEBHOOK_RETRY_DELAYS_MS = [1_000, 5_000, 30_000, 120_000, 600_000, 3_600_000];

function checkOptions(o: EmulatorOptions): void {
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) {
    throw new Error(`Stripe emulator: port must be an integer between 0 and 65535, got ${o.port}`);
  }
  if (o.webhookSigningSecret !== undefined && !o.webhookSigningSecret.startsWith('whsec_')) {
    throw new Error('Stripe emulator: webhookSigningSecret must start with whsec_');
  }
  if (o.startTime !== undefined && !Number.isInteger(o.startTime)) {
    throw new Error(`Stripe emulator: startTime must be unix seconds (an integer), got ${o.startTime}`);
  }
  if (o.webhookRetryDelaysMs?.some((d) => !Number.isFinite(d) || d < 0)) {
    throw new Error('Stripe emulator: webhookRetryDelaysMs must be non-negative numbers');
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE')
        // code and port stay on the error so a caller can tell this case apart without parsing text.
        reject(
          Object.assign(new Error(`Stripe emulator: port ${port} is already in use on ${host}`), {
            code: 'EADDRINUSE',
            port,
          }),
        );
      else if (err.code === 'EACCES')
        reject(new Error(`Stripe emulator: no permission to listen on port ${port} (${host})`));
      else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND')
        reject(new Error(`Stripe emulator: cannot listen on host ${host}`));
      else reject(new Error(`Stripe emulator: cannot listen on ${host}:${port}: ${err.message}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** Starts an emulator; rejects with a one-line message when it cannot (port taken, data dir unusable). */
export async function startEmulator(options: EmulatorOptions): Promise<RunningEmulator> {
  checkOptions(options);
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? (() => {});
  let writer: WriteBehind | undefined;
  const core = new EmulatorCore(
    {
      startTime: options.startTime,
      webhookSigningSecret: options.webhookSigningSecret,
      webhookRetryDelaysMs: options.webhookRetryDelaysMs ?? DEFAULT_WEBHOOK_RETRY_DELAYS_MS,
      webhookTimeoutMs: options.webhookTimeoutMs ?? 10_000,
      log,
      onChange: () => writer?.markDirty(),
    },
    [
      ...builtInResources({ webhookSigningSecret: options.webhookSigningSecret }),
      ...(options.extraResources ?? []),
    ],
  );

  if (options.dataDir) {
    const { file, state } = await loadState(options.dataDir);
    if (state !== undefined) {
      if ((state as PersistedState).version !== 1) {
        throw new Error(`Stripe emulator: state file ${file} has an unknown format version`);
      }
      core.restore(state as PersistedState);
    }
    writer = new WriteBehind(file, () => JSON.stringify(core.snapshot()), log);
  }

  const target = {
    now: () => core.clock.now(),
    advance: (seconds: number) => core.advance(seconds),
    reset: async () => {
      await core.reset();
      await writer?.remove();
    },
    drainWebhooks: () => core.webhooks.drain(),
    setWebhookChaos: (opts: { shuffle?: boolean; duplicate?: boolean }) => core.webhooks.setChaos(opts),
    pendingDeliveries: () => core.webhooks.pending().length,
  };

  const server = http.createServer(createRequestListener(core, createControlHandler(target), log));
  server.keepAliveTimeout = 5_000;
  await listen(server, options.port, host);
  core.start();
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  core.baseUrl = `http://${urlHost}:${port}`;
  log('info', `Stripe emulator listening on http://${urlHost}:${port}`);

  let closed: Promise<void> | undefined;
  return {
    url: `http://${urlHost}:${port}`,
    host,
    port,
    now: target.now,
    advance: target.advance,
    drainWebhooks: target.drainWebhooks,
    setWebhookChaos: (opts) => {
      target.setWebhookChaos(opts);
    },
    reset: target.reset,
    close() {
      closed ??= (async () => {
        core.stop();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        writer?.markDirty();
        await writer?.flush();
      })();
      return closed;
    },
  };
}
