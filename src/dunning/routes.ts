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

// The dunning answers' response schemas are derived from examples taken from real runs (names and ids replaced);
// see shapeOf below.
const exampleConsumerPolicy = {
  debtorType: 'consumer',
  levels: [
    {
      level: 1,
      name: 'Zahlungserinnerung',
      daysAfterDue: 7,
      feeCents: 0,
      paymentDeadlineDays: 10,
      chargesInterest: false,
    },
    {
      level: 2,
      name: '1. Mahnung',
      daysAfterDue: 21,
      feeCents: 150,
      paymentDeadlineDays: 10,
      chargesInterest: true,
    },
    {
      level: 3,
      name: '2. Mahnung',
      daysAfterDue: 35,
      feeCents: 150,
      paymentDeadlineDays: 10,
      chargesInterest: true,
    },
    {
      level: 4,
      name: 'Letzte Mahnung',
      daysAfterDue: 49,
      feeCents: 250,
      paymentDeadlineDays: 10,
      chargesInterest: true,
    },
  ],
  escalation: { afterDaysFromLastLevel: 14, options: ['collection', 'court', 'write_off'] },
};
const exampleOverride = { levelCount: 3, levels: [{ level: 3, name: 'Letzte Mahnung', feeCents: 0 }] };
const exampleCaseSummary = {
  id: 'dun_Pq8sW2mLx5kT9vRa',
  status: 'open',
  stage: 'dunning',
  origin: 'overdue',
  invoice: {
    id: 'inv_Rk7mT3vXq9LpW2sN',
    number: 'MOR-2026-0057',
    kind: 'remainder',
    amount: 400000,
    dueDate: '2026-03-02',
    status: 'open',
  },
  buyer: { id: 'byr_Zk3pQ8xL2mVt9wRa', name: 'Jürgen Weber', type: 'consumer' },
  level: 1,
  levelName: 'Zahlungserinnerung',
  levelCount: 4,
  daysOverdue: 7,
  openAmount: 400000,
  interest: 481,
  fees: 0,
  flatFee: 0,
  totalClaim: 400481,
  nextAction: { action: 'send_letter', level: 2, on: '2026-03-23', reason: 'level_due' },
  paused: false,
  pauseReason: null,
  buyerPaused: false,
  disputed: false,
  paymentProcessing: false,
  unappliedTransfer: 0,
  returnReasonCode: null,
  returnFailureCode: null,
  mayRedebit: true,
  escalation: null,
  closedReason: null,
  createdAt: '2026-03-09T07:00:00.000Z',
};
const exampleLetter = {
  id: 'dlt_Tz2qT76LNu7q8A2x',
  caseId: 'dun_Pq8sW2mLx5kT9vRa',
  dealerId: 'dlr_4f1cTq7LmN2xV8bK',
  level: 1,
  levelName: 'Zahlungserinnerung',
  letterDate: '2026-03-09',
  deadline: '2026-03-19',
  recipientEmail: 'juergen.weber@example.de',
  subject: 'Zahlungserinnerung – Rechnung Nr. MOR-2026-0057 vom 16.02.2026',
  text: 'Reisemobile Schmidt GmbH\nIndustriestraße 5\n96110 Scheßlitz\n\nJürgen Weber\nHauptstraße 12\n96114 Hirschaid\n\nDatum: 09.03.2026\n\nZahlungserinnerung – Rechnung Nr. MOR-2026-0057 vom 16.02.2026\n\nGuten Tag Jürgen Weber,\n\nunsere Rechnung Nr. MOR-2026-0057 vom 16.02.2026 über 4.000,00 € war am 02.03.2026 zur Zahlung fällig. …',
  items: [{ label: 'Offener Rechnungsbetrag', amount: 400000 }],
  openAmount: 400000,
  interest: 0,
  fees: 0,
  flatFee: 0,
  totalDue: 400000,
  paymentUrl: 'https://invoice.stripe.com/i/acct_1Mor3lo/test_Rk7mT3vXq9LpW2sN',
  paymentUrlKind: 'hosted_invoice',
  creditorPlaceholder: false,
  status: 'sent',
  deliveredVia: 'smtp',
  sentAt: '2026-03-09T07:00:00.000Z',
  pdfUrl: '/api/payments/dunning/dun_Pq8sW2mLx5kT9vRa/letters/dlt_Tz2qT76LNu7q8A2x.pdf',
};
const exampleCaseDetail = {
  ...exampleCaseSummary,
  claim: {
    openAmount: 400000,
    interest: {
      total: 481,
      periods: [
        {
          from: '2026-03-03',
          to: '2026-03-09',
          days: 7,
          baseRatePercent: 1.27,
          ratePercent: 6.27,
          amount: 481,
          beyondTable: false,
        },
      ],
      flags: [],
    },
    fees: [],
    flatFee: 0,
    feeCredit: 0,
    total: 400481,
  },
  policy: exampleConsumerPolicy,
  letters: [exampleLetter],
  audit: [
    {
      at: '2026-03-09T07:00:00.000Z',
      action: 'opened',
      actor: 'system',
      reason: 'Rechnung seit 7 Tagen überfällig',
      details: { origin: 'overdue', dueDate: '2026-03-02', openAmount: 400000, buyerPaused: false },
    },
    {
      at: '2026-03-09T07:00:00.000Z',
      action: 'letter_queued',
      actor: 'system',
      reason: 'Zahlungserinnerung',
      details: {
        level: 1,
        deadline: '2026-03-19',
        interest: 0,
        letterId: 'dlt_Tz2qT76LNu7q8A2x',
        totalDue: 400000,
        creditorPlaceholder: false,
      },
    },
    {
      at: '2026-03-09T07:00:00.000Z',
      action: 'letter_sent',
      actor: 'system',
      reason: 'Zahlungserinnerung',
      details: { letterId: 'dlt_Tz2qT76LNu7q8A2x', deliveredVia: 'smtp' },
    },
  ],
};
const examplePausedAudit = {
  at: '2026-03-10T08:12:00.000Z',
  action: 'paused',
  actor: 'dealer:dlr_4f1cTq7LmN2xV8bK',
  reason: 'Käufer reklamiert die Markise; Klärung mit dem Werk',
  details: null,
};
const exampleCreditor = {
  name: 'Reisemobile Schmidt GmbH',
  address: 'Industriestraße 5\n96110 Scheßlitz',
  vatId: 'DE298765432',
  iban: 'DE89370400440532013000',
  bic: 'COBADEFFXXX',
  bankName: 'Commerzbank',
};
const exampleBaseRates = {
  source: 'default',
  updatedBy: null,
  entries: [
    { from: '2023-01-01', ratePercent: 1.62 },
    { from: '2023-07-01', ratePercent: 3.12 },
    { from: '2024-01-01', ratePercent: 3.62 },
    { from: '2024-07-01', ratePercent: 3.37 },
    { from: '2025-01-01', ratePercent: 2.27 },
    { from: '2025-07-01', ratePercent: 1.27 },
    { from: '2026-01-01', ratePercent: 1.27 },
  ],
  knownUntil: '2026-07-01',
};
/**
 * A response schema derived from a real answer: every field named and typed as in the example, all optional and
 * nullable, objects loose — so /docs lists the fields while serialisation stays exactly as before (nothing is
 * stripped or rejected that the handlers send).
 */
function shapeOf(example: unknown): z.ZodType {
  if (Array.isArray(example)) return z.array(example.length > 0 ? shapeOf(example[0]) : z.unknown());
  if (example !== null && typeof example === 'object') {
    const fields = Object.entries(example as Record<string, unknown>).map(
      ([key, value]) => [key, shapeOf(value).optional()] as const,
    );
    return z.looseObject(Object.fromEntries(fields)).nullable();
  }
  if (typeof example === 'string') return z.string().nullable();
  if (typeof example === 'number') return z.number().nullable();
  if (typeof example === 'boolean') return z.boolean().nullable();
  return z.unknown();
}
const documented = (description: string, example: unknown) =>
  shapeOf(example).meta({ description, examples: [example] });
const reasonBodyExample = (reason: string) => reasonBody.meta({ examples: [{ reason }] });

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
        response: {
          200: documented('A page of cases (data, hasMore, nextCursor).', {
            data: [exampleCaseSummary],
            hasMore: false,
            nextCursor: null,
          }),
        },
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
        response: {
          200: documented('The base policy, where it comes from, the dealer overrides.', {
            debtorType: 'consumer',
            source: 'default',
            policy: exampleConsumerPolicy,
            dealerOverrides: [],
          }),
        },
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
        response: { 200: documented('The base-rate table in force.', exampleBaseRates) },
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
        body: z
          .array(z.unknown())
          .max(400)
          .meta({ examples: [[...exampleBaseRates.entries, { from: '2026-07-01', ratePercent: 2.02 }]] }),
        response: {
          200: documented('The stored table.', {
            source: 'configured',
            updatedBy: 'admin',
            entries: [...exampleBaseRates.entries, { from: '2026-07-01', ratePercent: 2.02 }],
            knownUntil: '2027-01-01',
          }),
        },
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
        body: z.record(z.string(), z.unknown()).meta({ examples: [exampleConsumerPolicy] }),
        response: {
          200: documented('The stored policy, described as by GET.', {
            debtorType: 'consumer',
            source: 'configured',
            policy: exampleConsumerPolicy,
            dealerOverrides: [],
          }),
        },
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
        body: z.record(z.string(), z.unknown()).meta({ examples: [exampleOverride] }),
        response: {
          200: documented('The override and the policy the dealer’s cases now follow.', {
            dealerId: 'dlr_4f1cTq7LmN2xV8bK',
            debtorType: 'consumer',
            override: exampleOverride,
            effectivePolicy: {
              ...exampleConsumerPolicy,
              levels: [
                ...exampleConsumerPolicy.levels.slice(0, 2),
                { ...exampleConsumerPolicy.levels[2], name: 'Letzte Mahnung', feeCents: 0 },
              ],
            },
          }),
        },
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
        description: 'No content when the override was removed; 404 when the dealer had none.',
        params: debtorTypeParam.extend({ dealerId: z.string().min(1).max(100) }),
        response: {
          // void for the handler, type null for @fastify/swagger: a response without content.
          204: z.void().meta({ type: 'null', description: 'Override removed.' }),
          404: z.void().meta({ type: 'null', description: 'The dealer had no override.' }),
        },
      },
    },
    async (request, reply) => {
      requireAdmin(request);
      const removed = await removeDealerOverride(deps, request.params.debtorType, request.params.dealerId);
      return reply.code(removed ? 204 : 404).send();
    },
  );

  const creditorBody = z
    .strictObject({
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
    })
    .meta({ examples: [{ ...exampleCreditor, iban: 'DE89 3704 0044 0532 0130 00' }] });

  r.put(
    '/api/payments/dunning/creditor-profile',
    {
      schema: {
        tags: ['dunning'],
        summary: 'The creditor data printed in the dealer’s letters (name, address, VAT id, bank account)',
        body: creditorBody,
        response: {
          200: documented('The stored creditor data (IBAN without spaces).', {
            dealerId: 'dlr_4f1cTq7LmN2xV8bK',
            creditor: exampleCreditor,
            placeholder: false,
          }),
        },
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
        response: {
          200: documented('The creditor data letters print.', {
            dealerId: 'dlr_4f1cTq7LmN2xV8bK',
            creditor: exampleCreditor,
            placeholder: false,
          }),
        },
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
        response: {
          200: documented('The case with claim, policy, letters and audit trail.', exampleCaseDetail),
        },
      },
    },
    async (request) => getCaseDetail(deps, request.scope, request.params.id),
  );

  r.post(
    '/api/payments/dunning/:id/pause',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Mahnstopp for this case',
        params: idParam,
        body: reasonBodyExample('Käufer reklamiert die Markise; Klärung mit dem Werk'),
        response: {
          200: documented('The case, paused.', {
            ...exampleCaseDetail,
            status: 'paused',
            nextAction: { action: 'none', on: null, reason: 'paused' },
            paused: true,
            pauseReason: 'Käufer reklamiert die Markise; Klärung mit dem Werk',
            audit: [...exampleCaseDetail.audit, examplePausedAudit],
          }),
        },
      },
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
        body: reasonBodyExample('Markise getauscht, Käufer zahlt'),
        response: {
          200: documented('The case, running again.', {
            ...exampleCaseDetail,
            audit: [
              ...exampleCaseDetail.audit,
              examplePausedAudit,
              {
                at: '2026-03-12T09:30:00.000Z',
                action: 'resumed',
                actor: 'dealer:dlr_4f1cTq7LmN2xV8bK',
                reason: 'Markise getauscht, Käufer zahlt',
                details: null,
              },
            ],
          }),
        },
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
          'write_off marks the Stripe invoice uncollectible. call_loan (an instalment of a financing plan only) is judged on the plan itself — its nominal amount, term and every instalment — and on the § 498 warning the plan’s last letters carried; it is allowed only when § 498 BGB holds, else 409 `loan_call_not_allowed` with the missing grounds as details. An allowed call ends the plan and bills the whole loan at once: open instalments are voided and one invoice asks for the remaining principal plus the interest already due (the plan’s `payoffInvoiceId`). If that cannot finish (409 `payment_processing` while a SEPA debit is in flight, or 502/503), the decision stands and the same call finishes it later.',
        params: idParam,
        body: z
          .strictObject({
            action: z.enum(['collection', 'court', 'write_off', 'call_loan']),
            reason: reasonBody.shape.reason,
          })
          .meta({ examples: [{ action: 'collection', reason: 'Übergabe an Inkasso Muster & Partner' }] }),
        response: {
          200: documented('The case, escalated.', {
            ...exampleCaseDetail,
            status: 'escalated',
            stage: 'escalated',
            level: 4,
            levelName: 'Letzte Mahnung',
            daysOverdue: 120,
            interest: 8245,
            fees: 550,
            totalClaim: 408795,
            nextAction: { action: 'none', on: null, reason: 'waiting' },
            escalation: 'collection',
            claim: {
              ...exampleCaseDetail.claim,
              interest: {
                total: 8245,
                periods: [
                  {
                    from: '2026-03-03',
                    to: '2026-06-30',
                    days: 120,
                    baseRatePercent: 1.27,
                    ratePercent: 6.27,
                    amount: 8245,
                    beyondTable: false,
                  },
                ],
                flags: [],
              },
              fees: [
                { label: 'Mahngebühr 1. Mahnung', amount: 150 },
                { label: 'Mahngebühr 2. Mahnung', amount: 150 },
                { label: 'Mahngebühr Letzte Mahnung', amount: 250 },
              ],
              total: 408795,
            },
            audit: [
              ...exampleCaseDetail.audit,
              {
                at: '2026-06-30T06:00:00.000Z',
                action: 'escalated_collection',
                actor: 'dealer:dlr_4f1cTq7LmN2xV8bK',
                reason: 'Übergabe an Inkasso Muster & Partner',
                details: {},
              },
            ],
          }),
        },
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
        response: {
          200: {
            content: {
              'application/pdf': {
                schema: z
                  .custom<Buffer>(() => true)
                  .meta({ type: 'string', format: 'binary', description: 'The letter as a PDF document.' }),
              },
            },
          },
        },
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
        body: reasonBodyExample('Insolvenzprüfung beim Käufer'),
        response: {
          200: documented('The buyer’s Mahnstopp and how many cases it touched.', {
            customerId: 'byr_Zk3pQ8xL2mVt9wRa',
            dunningPaused: true,
            reason: 'Insolvenzprüfung beim Käufer',
            casesAffected: 1,
          }),
        },
      },
    },
    async (request) => setBuyerPause(deps, request.scope, request.params.id, true, request.body.reason),
  );

  r.post(
    '/api/payments/customers/:id/dunning-resume',
    {
      schema: {
        tags: ['dunning'],
        summary: 'Lift a buyer’s Mahnstopp',
        params: idParam,
        body: reasonBodyExample('Prüfung abgeschlossen, Ratenzahlung vereinbart'),
        response: {
          200: documented('The buyer’s Mahnstopp lifted and how many cases it touched.', {
            customerId: 'byr_Zk3pQ8xL2mVt9wRa',
            dunningPaused: false,
            reason: 'Prüfung abgeschlossen, Ratenzahlung vereinbart',
            casesAffected: 1,
          }),
        },
      },
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
        response: {
          200: documented('A page of letters (data, hasMore, nextCursor).', {
            data: [exampleLetter],
            hasMore: false,
            nextCursor: null,
          }),
        },
      },
    },
    async (request) => {
      requireAdmin(request);
      return listLetters(deps, request.query);
    },
  );
}
