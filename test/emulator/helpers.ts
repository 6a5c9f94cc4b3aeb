/** Shared helpers for emulator tests: an emulator + SDK client pair, and a webhook receiver. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Stripe from 'stripe';
import { type EmulatorOptions, type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';

export interface Harness {
  emu: RunningEmulator;
  stripe: Stripe;
}

/** Starts a memory-only emulator on a free port and an SDK client pointed at it. */
export async function startHarness(options: Partial<EmulatorOptions> = {}): Promise<Harness> {
  const emu = await startEmulator({ port: 0, ...options });
  return { emu, stripe: sdkFor(emu) };
}

export function sdkFor(emu: RunningEmulator, key = 'sk_test_emulator', maxNetworkRetries = 0): Stripe {
  return new Stripe(key, { host: emu.host, port: emu.port, protocol: 'http', maxNetworkRetries });
}

/** What the receiver got. */
export interface Received {
  body: string;
  signature: string;
  event: Stripe.Event;
}

/**
 * A webhook receiver on a free port. `respond` decides the status of each request (default 200);
 * `stop()`/`restart()` take it down and bring it back on the same port.
 */
export class Receiver {
  readonly received: Received[] = [];
  respond: (r: Received, n: number) => number = () => 200;
  private server: http.Server | undefined;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = {
          body,
          signature: String(req.headers['stripe-signature']),
          event: JSON.parse(body),
        };
        this.received.push(r);
        res.statusCode = this.respond(r, this.received.length);
        res.end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/webhooks`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  }

  restart(): Promise<this> {
    return this.start(this.port);
  }

  /** Events of one type received so far. */
  ofType(type: string): Received[] {
    return this.received.filter((r) => r.event.type === type);
  }
}

/** Polls until `check` passes or the time is up. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
