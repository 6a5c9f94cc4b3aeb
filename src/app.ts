/**
 * Builds the Fastify app from its parts. Tests build it too (with `inject`, no ports); main.ts adds the
 * listening socket, the emulator and the workers around it.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type Stripe from 'stripe';
import { adminRoutes } from './admin/routes.ts';
import { installAuth } from './auth/plugin.ts';
import type { Config } from './config.ts';
import { customerEventHandlers } from './customers/events.ts';
import { customerRoutes } from './customers/routes.ts';
import { type DevClock, devRoutes } from './dev/routes.ts';
import { dunningEventHandlers } from './dunning/events.ts';
import { OutboxOnlyMailer } from './dunning/mailer.ts';
import { dunningRoutes } from './dunning/routes.ts';
import { dunningClockJob, letterSenders } from './dunning/scheduler.ts';
import { SmtpMailer } from './dunning/smtp-mailer.ts';
import { financingEventHandlers } from './financing/events.ts';
import { financingRoutes } from './financing/routes.ts';
import { financingPlansOfBuyer, issueDueBalloonInvoices } from './financing/service.ts';
import { healthRoutes } from './health/routes.ts';
import { invoiceEventHandlers } from './invoices/events.ts';
import { invoiceRoutes } from './invoices/routes.ts';
import { invoicesOfBuyer, sweepAbandonedInvoices } from './invoices/service.ts';
import { vehicleRoutes } from './ledger/routes.ts';
import { paymentLinkRoutes } from './payment-links/routes.ts';
import { paymentEventHandlers } from './payments/events.ts';
import type { Cache } from './platform/cache.ts';
import type { Clock } from './platform/clock.ts';
import { ClockJobs } from './platform/clock-jobs.ts';
import type { Database } from './platform/db/index.ts';
import type { ServiceDeps } from './platform/deps.ts';
import { installErrorHandling } from './platform/http-errors.ts';
import { installIdempotency } from './platform/idempotency.ts';
import { newId } from './platform/ids.ts';
import type { Logger } from './platform/logger.ts';
import { OutboxDispatcher } from './platform/outbox.ts';
import { reconciliationRoutes } from './reconciliation/routes.ts';
import { treasuryRoutes } from './treasury/routes.ts';
import { dashboardRoutes } from './web/routes.ts';
import { type HandlerTable, mergeHandlerTables } from './webhooks/handlers.ts';
import { InboxProcessor } from './webhooks/processor.ts';
import { webhookAdminRoutes, webhookRoutes } from './webhooks/routes.ts';

/** Everything the app needs from outside; created by main.ts or a test. */
export interface AppDeps {
  config: Config;
  database: Database;
  stripe: Stripe;
  clock: Clock;
  logger: Logger;
  cache: Cache;
  /** Extra webhook signing secrets known at run time (the emulator endpoint's), besides the configured ones. */
  webhookSecrets?: () => readonly string[];
  /** Offline only: the clock shared with the emulator, behind POST /api/dev/advance-time. */
  devClock?: DevClock;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The webhook inbox processor; main starts its loop, tests call drain(). */
    inbox: InboxProcessor;
    /** What service functions need; main's clock jobs use it. */
    services: ServiceDeps;
    /** Event type → handler, as the inbox processor applies them. */
    eventHandlers: HandlerTable;
    /** Jobs the clock drives; main starts their interval, advance-time and tests call runDue(). */
    clockJobs: ClockJobs;
    /** The transactional outbox's dispatcher (dunning letters); main starts its loop, tests call drain(). */
    outbox: OutboxDispatcher;
  }
}

/** Largest accepted request body; our JSON requests are small, Stripe events a few KB. */
export const BODY_LIMIT_BYTES = 1024 * 1024;

/** Builds the app; call `.ready()` (inject does it) or `.listen()`. */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    bodyLimit: BODY_LIMIT_BYTES,
    genReqId: () => newId('req'),
    requestIdHeader: 'x-request-id',
    return503OnClosing: true,
    forceCloseConnections: false,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    return payload;
  });
  installErrorHandling(app);

  await app.register(swagger, {
    openapi: {
      info: {
        title: 'morelo-payments',
        description:
          'Payments of the MORELO dealer platform. Money is integer euro cents. Auth: `Authorization: Bearer <key>`.',
        version: '0.1.0',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  installAuth(app, deps.database.db);
  installIdempotency(app, deps.database.db, deps.clock);

  await app.register(healthRoutes, { database: deps.database, stripe: deps.stripe });
  await app.register(dashboardRoutes);
  await app.register(adminRoutes, { db: deps.database.db, clock: deps.clock });

  const services: ServiceDeps = {
    db: deps.database.db,
    stripe: deps.stripe,
    clock: deps.clock,
    cache: deps.cache,
    log: deps.logger,
    publicBaseUrl: deps.config.publicBaseUrl,
  };
  await app.register(customerRoutes, {
    deps: services,
    detailSections: [
      async (d, buyerId) => ({ name: 'invoices', value: await invoicesOfBuyer(d, buyerId) }),
      async (d, buyerId) => ({ name: 'financingPlans', value: await financingPlansOfBuyer(d, buyerId) }),
    ],
  });
  await app.register(invoiceRoutes, { deps: services });
  await app.register(paymentLinkRoutes, { deps: services });
  await app.register(vehicleRoutes, { deps: services });
  await app.register(treasuryRoutes, { deps: services });
  await app.register(financingRoutes, { deps: services });
  await app.register(dunningRoutes, { deps: services });

  // Financing after invoices: it judges plans from invoice rows that syncInvoice has just updated.
  const eventHandlers = mergeHandlerTables(
    customerEventHandlers,
    invoiceEventHandlers,
    paymentEventHandlers,
    financingEventHandlers,
    // Dunning last: it closes or opens cases from invoice rows the handlers above have just moved.
    dunningEventHandlers,
  );
  const processor = new InboxProcessor(services, eventHandlers);
  app.decorate('inbox', processor);
  app.decorate('eventHandlers', eventHandlers);
  app.decorate('services', services);
  app.addHook('onClose', () => processor.stop());
  // Without SMTP letters are filed for the admin only; with it they are e-mailed and filed (GET /api/admin/letters).
  const mailer = deps.config.smtp ? new SmtpMailer(deps.config.smtp, deps.logger) : new OutboxOnlyMailer();
  const outbox = new OutboxDispatcher(services, { ...letterSenders(mailer) });
  app.decorate('outbox', outbox);
  app.addHook('onClose', () => outbox.stop());
  const clockJobs = new ClockJobs(services, [
    { name: 'financing.balloon-invoices', run: issueDueBalloonInvoices },
    { name: 'invoices.sweep-abandoned', run: sweepAbandonedInvoices },
    dunningClockJob(outbox),
  ]);
  app.decorate('clockJobs', clockJobs);
  app.addHook('onClose', () => clockJobs.stop());
  const secrets = () => [...deps.config.stripe.webhookSecrets, ...(deps.webhookSecrets?.() ?? [])];
  await app.register(webhookRoutes, { deps: services, secrets, processor });
  await app.register(webhookAdminRoutes, { deps: services, processor });
  await app.register(reconciliationRoutes, { deps: services, processor });
  if (deps.devClock && deps.config.mode === 'offline') {
    await app.register(devRoutes, { devClock: deps.devClock, processor, clockJobs });
  }
  return app;
}
