/**
 * `/_emulator/*`: the emulator's own controls over HTTP, for a process that does not hold the
 * `RunningEmulator` (auth like the API: any sk_test_ key).
 *
 *   GET  /_emulator/clock            → {now}
 *   POST /_emulator/advance          {seconds} → {now}, after due work and first delivery attempts
 *   POST /_emulator/reset            → {now}
 *   POST /_emulator/webhook-chaos    {shuffle?, duplicate?} → the switches now in force
 *   POST /_emulator/drain-webhooks   → {pending}, once nothing is in flight or due
 */
import { errors } from './errors.ts';
import type { FormHash } from './form.ts';
import { p, readFields } from './params.ts';
import type { ControlHandler } from './server.ts';
import type { WebhookChaos } from './webhooks.ts';

/** What the control endpoints drive. */
export interface ControlTarget {
  now(): number;
  advance(seconds: number): Promise<void>;
  reset(): Promise<void>;
  drainWebhooks(): Promise<void>;
  setWebhookChaos(opts: Partial<WebhookChaos>): WebhookChaos;
  pendingDeliveries(): number;
}

const advanceFields = { seconds: p.integer({ min: 0 }).required() };
const chaosFields = { shuffle: p.boolean(), duplicate: p.boolean() };

export function createControlHandler(target: ControlTarget): ControlHandler {
  return async (method: string, path: string, params: FormHash) => {
    const route = `${method} ${path}`;
    switch (route) {
      case 'GET /_emulator/clock':
        readFields({}, params);
        return { now: target.now() };
      case 'POST /_emulator/advance': {
        const { seconds } = readFields(advanceFields, params);
        await target.advance(seconds);
        return { now: target.now() };
      }
      case 'POST /_emulator/reset':
        readFields({}, params);
        await target.reset();
        return { now: target.now() };
      case 'POST /_emulator/webhook-chaos':
        return target.setWebhookChaos(readFields(chaosFields, params));
      case 'POST /_emulator/drain-webhooks':
        readFields({}, params);
        await target.drainWebhooks();
        return { pending: target.pendingDeliveries() };
      default:
        throw errors.unrecognizedUrl(method, path);
    }
  };
}
