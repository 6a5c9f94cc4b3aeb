/**
 * The registry of resources. Adding a resource = one new file in this folder plus one line here.
 */
import type { ResourceModule } from '../resource.ts';
import { customers } from './customers.ts';
import { events } from './events.ts';
import { prices } from './prices.ts';
import { products } from './products.ts';
import { webhookEndpointsResource } from './webhook-endpoints.ts';

/** What resources may depend on from the emulator's options. */
export interface ResourceConfig {
  /** The fixed `whsec_` secret for every webhook endpoint, if configured. */
  webhookSigningSecret: string | undefined;
}

/** All built-in resources. */
export function builtInResources(config: ResourceConfig): ResourceModule[] {
  return [customers, products, prices, events, webhookEndpointsResource(() => config.webhookSigningSecret)];
}
