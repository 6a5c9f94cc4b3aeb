import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { requireAdmin } from '../auth/plugin.ts';
import type { ServiceDeps } from '../platform/deps.ts';
import { listQuery } from '../platform/pagination.ts';
import { owningDealer } from '../platform/tenancy.ts';
import { describeBaseRates, setBaseRates } from './base-rate-settings.ts';
import { DEBTOR_TYPES } from './interest.ts';
import { isValidIban } from './letter.ts';
import { letterPdfFilename, renderTextPdf } from './pdf.ts';
import {
  creditorOf,
  describePolicy,
  escalateCase,
  getCaseDetail,
  getLetterRow,
  listCases,
  listLetters,
  pauseCase,
  removeDealerOverride,
  resumeCase,
  setBasePolicy,
  setBuyerPause,
  setCreditorProfile,
  setDealerOverride,
} from './service.ts';

const idParam = z.object({ id: z.string().min(1).max(100) });
const reasonBody = z.strictObject({
  reason: z.string().trim().min(3, 'say why (at least 3 characters)').max(500),
});
const debtorTypeParam = z.object({ debtorType: z.enum(DEBTOR_TYPES) });
const caseStatus = z.enum(['open', 'paused', 'awaiting_decision', 'escalated', 'closed']);

/** Dunning: cases, Mahnstopp, escalation, letters, policies (admin), creditor data. */
export async function dunningRoutes(app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { deps } = opts;
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/api/payments/dunning',
    {
      schema: {
        tags: ['dunning'],
        summary: 'The caller’s dunning cases, newest first',
        description:
          'Each case: invoice, buyer, level, days overdue, open amount, default interest up to today, fees, flat fee, total claim, next action and its date. Amounts in cents.',
        querystring: listQuery.extend({
          status: caseStatus.optional(),
          level: z.coerce.number().int().min(0).max(8).optional(),
        }),
      },
    },
    async (request) => listCases(deps, request.scope, request.query),
  );

  r.get(
    '/api/payments/dunning/policies/:debtorType',
    {
      schema: {
        tags: ['dunning'],
        summary:
          'Admin: the dunning policy of a debtor type, its dealer overrides, optionally one dealer’s effective policy',
        params: debtorTypeParam,
        querystring: z.object({ dealerId: z.string().min(1).max(100).optional() }),
      },
    },
    async (request) => {
      requireAdmin(request);
      return describePolicy(deps, request.params.debtorType, request.query.dealerId);
    },
  );

  r.get(
    '/api/payments/dunning/base-rates',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Admin: the base-rate table (Basiszinssatz, § 247 BGB) interest is computed with',
        description:
          'source `default` (shipped) or `configured`; knownUntil is the first day past the table.',
      },
    },
    async (request) => {
      requireAdmin(request);
      return describeBaseRates(deps.db);
    },
  );

  r.put(
    '/api/payments/dunning/base-rates',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Admin: replace the base-rate table with a longer one ([{from, ratePercent}], sorted)',
        description:
          'Add each new rate on 1 Jan / 1 Jul. Published rates cannot be changed or removed; a bad table is a 400 naming the entry.',
        body: z.array(z.unknown()).max(400),
      },
    },
    async (request) => {
      requireAdmin(request);
      return setBaseRates(deps, request.scope, request.body);
    },
  );

  r.put(
    '/api/payments/dunning/policies/:debtorType',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Admin: replace the dunning policy of a debtor type',
        description: 'A policy breaking a rule is a 400 naming the field, e.g. body.levels.2.daysAfterDue.',
        params: debtorTypeParam,
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (request) => {
      requireAdmin(request);
      await setBasePolicy(deps, request.scope, request.params.debtorType, request.body);
      return describePolicy(deps, request.params.debtorType);
    },
  );

  r.put(
    '/api/payments/dunning/policies/:debtorType/dealers/:dealerId',
    {
      schema: {
        tags: ['dunning'],
        summary:
          'Admin: set a dealer’s override of the policy ({levels:[{level, …}], levelCount, escalation})',
        params: debtorTypeParam.extend({ dealerId: z.string().min(1).max(100) }),
        body: z.record(z.string(), z.unknown()),
      },
    },
    async (request) => {
      requireAdmin(request);
      const { debtorType, dealerId } = request.params;
      const policy = await setDealerOverride(deps, request.scope, debtorType, dealerId, request.body);
      return { dealerId, debtorType, override: request.body, effectivePolicy: policy };
    },
  );

  r.delete(
    '/api/payments/dunning/policies/:debtorType/dealers/:dealerId',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Admin: remove a dealer’s override',
        params: debtorTypeParam.extend({ dealerId: z.string().min(1).max(100) }),
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const removed = await removeDealerOverride(deps, request.params.debtorType, request.params.dealerId);
      return reply.code(removed ? 204 : 404).send();
    },
  );

  const creditorBody = z.strictObject({
    dealerId: z.string().min(1).max(100).optional(),
    name: z.string().trim().min(1).max(200),
    address: z.string().trim().min(1).max(500).describe('Postal address, one line per line'),
    vatId: z.string().trim().min(1).max(40).optional(),
    iban: z.string().trim().refine(isValidIban, 'not a valid IBAN (checksum)'),
    bic: z
      .string()
      .trim()
      .regex(/^[A-Z0-9]{8}([A-Z0-9]{3})?$/, 'not a BIC (8 or 11 characters)'),
    bankName: z.string().trim().min(1).max(200),
  });

  r.put(
    '/api/payments/dunning/creditor-profile',
    {
      schema: {
        tags: ['dunning'],
        summary: 'The creditor data printed in the dealer’s letters (name, address, VAT id, bank account)',
        body: creditorBody,
      },
    },
    async (request) => {
      const dealerId = owningDealer(request.scope, request.body.dealerId);
      return { dealerId, ...(await setCreditorProfile(deps, dealerId, request.body)) };
    },
  );

  r.get(
    '/api/payments/dunning/creditor-profile',
    {
      schema: {
        tags: ['dunning'],
        summary: 'The creditor data of the caller’s letters (placeholder: true while none is entered)',
        querystring: z.object({ dealerId: z.string().min(1).max(100).optional() }),
      },
    },
    async (request) => {
      const dealerId = owningDealer(request.scope, request.query.dealerId);
      return { dealerId, ...(await creditorOf(deps.db, dealerId)) };
    },
  );

  r.get(
    '/api/payments/dunning/:id',
    {
      schema: {
        tags: ['dunning'],
        summary: 'One dunning case: itemised claim, letters, audit trail',
        params: idParam,
      },
    },
    async (request) => getCaseDetail(deps, request.scope, request.params.id),
  );

  r.post(
    '/api/payments/dunning/:id/pause',
    {
      schema: { tags: ['dunning'], summary: 'Mahnstopp for this case', params: idParam, body: reasonBody },
    },
    async (request) => pauseCase(deps, request.scope, request.params.id, request.body.reason),
  );

  r.post(
    '/api/payments/dunning/:id/resume',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Lift the Mahnstopp; the ladder goes on where it stood',
        params: idParam,
        body: reasonBody,
      },
    },
    async (request) => resumeCase(deps, request.scope, request.params.id, request.body.reason),
  );

  r.post(
    '/api/payments/dunning/:id/escalate',
    {
      schema: {
        tags: ['dunning'],
        summary: 'After the last letter: collection, court, write-off, or (financing) call the whole loan',
        description:
          'write_off marks the Stripe invoice uncollectible. call_loan (an instalment of a financing plan only) is judged on the plan itself — its nominal amount, term and every instalment — and on the § 498 warning the plan’s last letters carried; it is allowed only when § 498 BGB holds, else 409 `loan_call_not_allowed` with the missing grounds as details.',
        params: idParam,
        body: z.strictObject({
          action: z.enum(['collection', 'court', 'write_off', 'call_loan']),
          reason: reasonBody.shape.reason,
        }),
      },
    },
    async (request) => escalateCase(deps, request.scope, request.params.id, request.body),
  );

  r.get(
    '/api/payments/dunning/:id/letters/:letterFile',
    {
      schema: {
        tags: ['dunning'],
        summary: 'A letter as PDF (…/letters/<letterId>.pdf)',
        params: idParam.extend({
          letterFile: z.string().regex(/^[A-Za-z0-9_-]+\.pdf$/, 'must be <letterId>.pdf'),
        }),
      },
    },
    async (request, reply) => {
      const letterId = request.params.letterFile.replace(/\.pdf$/, '');
      const { letter, invoiceNumber } = await getLetterRow(
        deps.db,
        request.scope,
        request.params.id,
        letterId,
      );
      return reply
        .header('content-type', 'application/pdf')
        .header('content-disposition', `inline; filename="${letterPdfFilename(invoiceNumber, letter.level)}"`)
        .send(renderTextPdf(letter.subject, letter.bodyText));
    },
  );

  r.post(
    '/api/payments/customers/:id/dunning-pause',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Mahnstopp for a buyer: all their cases, now and later',
        params: idParam,
        body: reasonBody,
      },
    },
    async (request) => setBuyerPause(deps, request.scope, request.params.id, true, request.body.reason),
  );

  r.post(
    '/api/payments/customers/:id/dunning-resume',
    {
      schema: { tags: ['dunning'], summary: 'Lift a buyer’s Mahnstopp', params: idParam, body: reasonBody },
    },
    async (request) => setBuyerPause(deps, request.scope, request.params.id, false, request.body.reason),
  );

  r.get(
    '/api/admin/letters',
    {
      schema: {
        tags: ['admin'],
        summary: 'Admin: the letter outbox (every dunning letter, newest first)',
        querystring: listQuery.extend({ status: z.enum(['queued', 'sent', 'withdrawn']).optional() }),
      },
    },
    async (request) => {
      requireAdmin(request);
      return listLetters(deps, request.query);
    },
  );
}
