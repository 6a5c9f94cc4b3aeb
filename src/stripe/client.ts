/**
 * The one place that constructs a Stripe client. Offline, the same SDK talks to the embedded emulator on
 * loopback, so every other module runs one code path in every mode.
 */
import Stripe from 'stripe';
import type { Config } from '../config.ts';

/** The API version this service is written against; the pinned SDK sends the same. */
export const STRIPE_API_VERSION = '2026-10-28.endive' as const;

/** Where the emulator listens, when the service runs offline. */
export interface EmulatorAddress {
  host: string;
  port: number;
}

/** Builds the Stripe client for the configured mode (retries and timeouts set here, once). */
export function createStripeClient(config: Config, emulator?: EmulatorAddress): Stripe {
  const common = {
    apiVersion: STRIPE_API_VERSION,
    maxNetworkRetries: 2,
    timeout: 20_000,
    appInfo: { name: 'morelo-payments', version: '0.1.0' },
    telemetry: false,
  } satisfies Stripe.StripeConfig;
  if (config.mode === 'offline') {
    const address = emulator ?? { host: '127.0.0.1', port: config.stripe.emulatorPort };
    return new Stripe(config.stripe.secretKey, {
      ...common,
      host: address.host,
      port: address.port,
      protocol: 'http',
    });
  }
  return new Stripe(config.stripe.secretKey, common);
}
