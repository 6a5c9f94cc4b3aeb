import { describe, expect, it } from 'vitest';
import { InvalidDunningInputError } from '../../src/dunning/errors.ts';
import { BUSINESS_FLAT_FEE_CENTS, calculateDefaultInterest } from '../../src/dunning/interest.ts';
import { type DunningLetterInput, isValidIban, renderDunningLetter } from '../../src/dunning/letter.ts';
import { letterPdfFilename } from '../../src/dunning/pdf.ts';
import { DEFAULT_POLICIES, feesUpToLevel, financingPolicy } from '../../src/dunning/policy.ts';
import { parseBusinessDate as d } from '../../src/platform/dates.ts';
import { cents, formatEuro } from '../../src/platform/money.ts';

const consumerPolicy = DEFAULT_POLICIES.consumer;
const interest = calculateDefaultInterest({
  principal: cents(10_000_000),
  defaultStart: d('2025-06-01'),
  until: d('2025-08-31'),
  debtorType: 'consumer',
});

function input(over: Partial<DunningLetterInput> = {}): DunningLetterInput {
  return {
    level: 3,
    policy: consumerPolicy,
    creditor: {
      name: 'Reisemobile Süd GmbH',
      address: 'Hauptstraße 1\n96237 Ebersdorf',
      vatId: 'DE123456789',
      iban: 'DE89370400440532013000',
      bic: 'COBADEFFXXX',
      bankName: 'Commerzbank',
    },
    debtor: { name: 'Erika Mustermann', address: 'Musterweg 5\n80331 München', type: 'consumer' },
    invoice: {
      number: 'RE-2025-0042',
      issueDate: d('2025-05-17'),
      dueDate: d('2025-05-31'),
      amount: cents(12_000_000),
      openAmount: cents(10_000_000),
      vehicle: { model: 'MORELO Palace 90G', vin: 'WDB9066351S123456' },
    },
    interest,
    fees: feesUpToLevel(consumerPolicy, 3),
    deadline: d('2025-09-11'),
    paymentLinkUrl: 'https://pay.example.com/l/abc?x=1&y=2',
    today: d('2025-09-01'),
    ...over,
  };
}

describe('renderDunningLetter', () => {
  const letter = renderDunningLetter(input());

  it('states everything the law asks for, in text and HTML', () => {
    for (const body of [letter.text, letter.html]) {
      expect(body).toContain('Reisemobile Süd GmbH');
      expect(body).toContain('DE123456789');
      expect(body).toContain('Erika Mustermann');
      expect(body).toContain('RE-2025-0042');
      expect(body).toContain('17.05.2025'); // invoice date
      expect(body).toContain('120.000,00 €'); // invoice amount
      expect(body).toContain('100.000,00 €'); // open amount
      expect(body).toContain('20.000,00 €'); // already paid
      expect(body).toContain('WDB9066351S123456');
      expect(body).toContain('Verzugszinsen 01.06.2025–30.06.2025 (30 Tage, 7,27 % p. a.');
      expect(body).toContain('597,53 €');
      expect(body).toContain('Verzugszinsen 01.07.2025–31.08.2025 (62 Tage, 6,27 % p. a.');
      expect(body).toContain('1.065,04 €');
      expect(body).toContain('Basiszinssatz nach § 247 BGB (2,27 % vom 01.06.2025 bis 30.06.2025, 1,27 %');
      expect(body).toContain('Mahngebühr 1. Mahnung');
      expect(body).toContain('Mahngebühr 2. Mahnung');
      expect(body).toContain('1,50 €');
      expect(body).toContain('11.09.2025'); // new deadline
      expect(body).toContain('DE89 3704 0044 0532 0130 00');
      expect(body).toContain('COBADEFFXXX');
      expect(body).toContain('Bitte ignorieren Sie dieses Schreiben, falls Sie bereits bezahlt haben.');
      expect(body).toContain('3 von 4 (2. Mahnung)');
    }
    expect(letter.text).toContain('https://pay.example.com/l/abc?x=1&y=2');
    expect(letter.html).toContain('href="https://pay.example.com/l/abc?x=1&amp;y=2"');
  });

  it('totals open amount, interest and fees to the cent', () => {
    // 10,000,000 + 59,753 + 106,504 interest + 2 × 150 fees
    expect(letter.totalDue).toBe(10_166_557);
    expect(letter.text).toMatch(/\n {2}Gesamtbetrag +101\.665,57 €/);
    expect(letter.text).toContain('Gesamtbetrag von 101.665,57 € bis spätestens 11.09.2025');
  });

  it('names the letter and invoice in the subject', () => {
    expect(letter.subject).toBe('2. Mahnung – Rechnung Nr. RE-2025-0042 vom 17.05.2025');
  });

  it('escapes a buyer name in HTML', () => {
    const evil = renderDunningLetter(
      input({ debtor: { name: '<script>alert("x")</script>', address: 'A & B\n1 <b>', type: 'consumer' } }),
    );
    expect(evil.html).not.toContain('<script>');
    expect(evil.html).not.toContain('<b>');
    expect(evil.html).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(evil.html).toContain('A &amp; B');
  });

  it('keeps the friendly reminder free of interest', () => {
    const reminder = renderDunningLetter(input({ level: 1, fees: [] }));
    expect(reminder.subject).toMatch(/^Zahlungserinnerung/);
    expect(reminder.text).not.toContain('Verzugszinsen');
    expect(reminder.totalDue).toBe(10_000_000);
    expect(reminder.text).toContain(
      'Bitte ignorieren Sie dieses Schreiben, falls Sie bereits bezahlt haben.',
    );
  });

  it('names the next steps in the last letter', () => {
    const last = renderDunningLetter(input({ level: 4, fees: feesUpToLevel(consumerPolicy, 4) }));
    expect(last.text).toContain('letzte Mahnung');
    expect(last.text).toContain('Inkassounternehmen');
    expect(last.text).toContain('Mahnbescheid');
  });

  it('credits dunning fees against a business debtor’s flat fee', () => {
    const businessPolicy = { ...DEFAULT_POLICIES.business };
    businessPolicy.levels = businessPolicy.levels.map((l) => (l.level === 2 ? { ...l, feeCents: 300 } : l));
    const letterB = renderDunningLetter(
      input({
        level: 2,
        policy: businessPolicy,
        debtor: { name: 'Camping Nord KG', address: 'Hafen 2\n20457 Hamburg', type: 'business' },
        interest: calculateDefaultInterest({
          principal: cents(10_000_000),
          defaultStart: d('2025-06-01'),
          until: d('2025-08-31'),
          debtorType: 'business',
        }),
        fees: feesUpToLevel(businessPolicy, 2),
        flatFee: BUSINESS_FLAT_FEE_CENTS,
      }),
    );
    expect(letterB.text).toContain('Sehr geehrte Damen und Herren,');
    expect(letterB.text).toContain('11,27 % p. a.');
    expect(letterB.text).toContain('Verzugspauschale (§ 288 Abs. 5 BGB)');
    expect(letterB.items.at(-1)).toEqual({
      label: 'Anrechnung der Mahngebühren auf die Pauschale (§ 288 Abs. 5 S. 3 BGB)',
      amount: -300,
    });
    // open + interest 267,079 + fee 300 + flat fee 4,000 − credited 300
    expect(letterB.totalDue).toBe(10_000_000 + 267_079 + 4_000);
  });

  it('marks interest computed past the base-rate table', () => {
    const late = renderDunningLetter(
      input({
        interest: calculateDefaultInterest({
          principal: cents(10_000_000),
          defaultStart: d('2026-06-01'),
          until: d('2026-07-31'),
          debtorType: 'consumer',
        }),
        today: d('2026-08-01'),
        deadline: d('2026-08-11'),
      }),
    );
    expect(late.text).toContain('Verzugszinsen 01.07.2026–31.07.2026 (31 Tage, 6,27 % p. a.) *');
    expect(late.text).toContain('zuletzt veröffentlichten Satz');
  });

  it('refuses contradictory input and names the fields', () => {
    let caught: unknown;
    try {
      renderDunningLetter(
        input({
          paymentLinkUrl: 'javascript:alert(1)',
          deadline: d('2025-09-01'),
          flatFee: BUSINESS_FLAT_FEE_CENTS,
        }),
      );
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(InvalidDunningInputError);
    expect((caught as InvalidDunningInputError).details.map((i) => i.path).sort()).toEqual([
      'deadline',
      'flatFee',
      'paymentLinkUrl',
    ]);
  });

  it('names a received but unmatched transfer, and asks only for the rest', () => {
    const plain = renderDunningLetter(input());
    const letter = renderDunningLetter(
      input({ unappliedTransfer: { amount: cents(2_500_000), onlyClaim: true } }),
    );
    expect(letter.totalDue).toBe(plain.totalDue);
    expect(letter.items).toEqual(plain.items);
    const rest = formatEuro(cents(plain.totalDue - 2_500_000));
    for (const body of [letter.text, letter.html]) {
      expect(body).toContain(
        'Überweisung über 25.000,00 € eingegangen, die wir noch keiner Rechnung zuordnen konnten',
      );
      expect(body).toContain(`abzüglich der eingegangenen 25.000,00 €, also ${rest}, bis spätestens`);
    }
    expect(plain.text).not.toContain('keiner Rechnung zuordnen');
    // With several open claims the money is set off against them together: named, nothing deducted here.
    const several = renderDunningLetter(
      input({ unappliedTransfer: { amount: cents(2_500_000), onlyClaim: false } }),
    );
    expect(several.text).toContain('wir verrechnen sie mit Ihren offenen Forderungen');
    expect(several.text).toContain(
      `Bitte überweisen Sie den Gesamtbetrag von ${formatEuro(plain.totalDue)} bis`,
    );
    // More than the claim: never a request for 0,00 €.
    const more = renderDunningLetter(
      input({ unappliedTransfer: { amount: cents(plain.totalDue + 1), onlyClaim: true } }),
    );
    expect(more.text).not.toContain('abzüglich');
    expect(() =>
      renderDunningLetter(input({ unappliedTransfer: { amount: cents(-1), onlyClaim: true } })),
    ).toThrow(InvalidDunningInputError);
  });

  it('omits the online line when there is no payment link', () => {
    const noLink = renderDunningLetter(input({ paymentLinkUrl: undefined }));
    expect(noLink.text).not.toContain('Online:');
    expect(noLink.text).toContain('DE89 3704 0044 0532 0130 00');
  });
});

describe('the § 498 warning in the last letter of a financing instalment', () => {
  const policy = financingPolicy(consumerPolicy);
  const last = (over: Partial<DunningLetterInput> = {}) =>
    input({
      level: 4,
      policy,
      fees: feesUpToLevel(policy, 4),
      deadline: d('2025-09-15'),
      loanCallWarning: { arrears: cents(3_700_000) },
      ...over,
    });

  it('names the arrears, the two-week deadline, the whole loan and the offer to talk', () => {
    const warning = renderDunningLetter(last());
    for (const body of [warning.text, warning.html]) {
      expect(body).toContain('Raten über insgesamt 37.000,00 € rückständig');
      expect(body).toContain(
        'Gemäß § 498 BGB setzen wir Ihnen eine Frist von zwei Wochen bis zum 15.09.2025',
      );
      expect(body).toContain('die gesamte Restschuld auf einmal von Ihnen verlangen');
      expect(body).toContain('einverständliche Regelung');
    }
    // In place of the collection/court threat of an ordinary last letter.
    expect(warning.text).not.toContain('Inkassounternehmen');
    expect(renderDunningLetter(last({ loanCallWarning: undefined })).text).toContain('Inkassounternehmen');
  });

  it('refuses a warning with less than two weeks, or on a letter before the last', () => {
    const paths = (over: Partial<DunningLetterInput>) => {
      try {
        renderDunningLetter(last(over));
      } catch (err) {
        if (err instanceof InvalidDunningInputError) return err.details.map((i) => i.path);
        throw err;
      }
      return [];
    };
    expect(paths({ deadline: d('2025-09-14') })).toEqual(['deadline']);
    expect(paths({ level: 3, fees: feesUpToLevel(policy, 3) })).toEqual(['loanCallWarning']);
    expect(paths({ loanCallWarning: { arrears: cents(0) } })).toEqual(['loanCallWarning.arrears']);
  });
});

describe('isValidIban', () => {
  it('checks the mod-97 checksum', () => {
    expect(isValidIban('DE89 3704 0044 0532 0130 00')).toBe(true);
    expect(isValidIban('DE88 3704 0044 0532 0130 00')).toBe(false);
  });
});

describe('letterPdfFilename', () => {
  it('names invoice and level, keeping only characters safe in a file name and header', () => {
    expect(letterPdfFilename('MOR-2026-0057', 2)).toBe('Mahnung-MOR-2026-0057-2.pdf');
    expect(letterPdfFilename('A1B2C3D4-0001', 1)).toBe('Mahnung-A1B2C3D4-0001-1.pdf');
    expect(letterPdfFilename('RE 2026/17 "Ä"', 3)).toBe('Mahnung-RE-2026-17-3.pdf');
    // Separators at either end are dropped, not doubled next to the level.
    expect(letterPdfFilename('-AB-', 1)).toBe('Mahnung-AB-1.pdf');
    expect(letterPdfFilename('ÄÖÜ', 4)).toBe('Mahnung-Rechnung-4.pdf');
  });
});
