/**
 * Demo data for the system of record: foreign nationals with their cases, visas, passports, immigration documents
 * and petitions, as the case-management system would write them. Deterministic: the same seed number and count give
 * the same records, byte for byte, so `npm start`, the tests and the bench all see one data set.
 *
 * Records are generated one foreign national at a time (a generator), so a bench of 100,000 records never holds them
 * all in memory.
 */
import type { EntityWrite } from '../../functions/core/ports.ts';

/** The entities the export templates read, with the field that holds each record's key. */
export const DEMO_ENTITIES = [
  'foreignNational',
  'case',
  'visa',
  'passport',
  'immigrationDocument',
  'petition',
] as const;

export interface DemoOptions {
  org: string;
  /** How many foreign nationals (each brings about 8 more records). */
  people: number;
  /** The seed number: same seed, same data. */
  seed?: number;
  /** The write time stamped on every record (ISO); defaults to a fixed instant, for determinism. */
  at?: string;
}

/** mulberry32: a small, well-known 32-bit PRNG; good enough for demo data, and reproducible everywhere. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ana',
  'José',
  'Priya',
  'Wei',
  'Olga',
  'Mohammed',
  'Siobhán',
  'Hiroshi',
  'Zoë',
  'Lukas',
  'Aisha',
  'Rahul',
  'Camille',
  'Björn',
  'Nguyễn',
  'María José',
  'Chidi',
  'Ines',
  'Dmitri',
  'Fatima',
  'Kenji',
  'Sofía',
];
const LAST = [
  'Silva',
  'García',
  'Patel',
  'Zhang',
  'Ivanova',
  'Al-Sayed',
  "O'Neill",
  'Tanaka',
  'Müller',
  'Kowalski',
  'Okafor',
  'Sharma',
  'Dubois',
  'Lindqvist',
  'Trần',
  'Fernández López',
  'Nwosu',
  'Costa',
  'Petrov',
  'Haddad',
  'Kim',
];
const DEPARTMENTS = ['Engineering', 'Research & Development', 'Finance', 'Sales', 'Operations', 'Legal'];
const TITLES = ['Software Engineer', 'Data Scientist', 'Financial Analyst', 'Account Executive', 'Product Manager'];
const COUNTRIES = ['IN', 'CN', 'BR', 'MX', 'DE', 'FR', 'NG', 'PH', 'KR', 'JP', 'GB', 'CA', 'VN', 'UA'];
const CASES: readonly (readonly [string, string, string])[] = [
  ['H-1B Extension of Stay', 'US', 'I-129'],
  ['H-1B Change of Employer', 'US', 'I-129'],
  ['L-1A Initial Petition', 'US', 'I-129'],
  ['PERM Labor Certification', 'US', 'ETA-9089'],
  ['I-140 Immigrant Petition', 'US', 'I-140'],
  ['Blue Card Application', 'DE', 'Blue Card'],
  ['Skilled Worker Visa', 'GB', 'Certificate of Sponsorship'],
];
const CASE_STATUSES = ['Open', 'Filed', 'Approved', 'Approved', 'Approved', 'Denied', 'Withdrawn', 'Closed'];
const PETITIONERS = ['Acme Corporation', 'Acme Research GmbH', 'Acme UK Ltd'];
const VISA_TYPES = ['H-1B', 'L-1A', 'F-1', 'B-1', 'O-1', 'TN'];
const DOCUMENT_TYPES = ['I-94', 'EAD', 'Green Card', 'Work Permit', 'Residence Permit', 'Approval Notice'];
const PLACES = ['Mumbai', 'Beijing', 'São Paulo', 'Ciudad de México', 'Berlin', 'Lagos', 'Manila', 'Seoul'];

/** The demo records of an organization, one foreign national's records at a time (foreign national first). */
export function* demoRecords(options: DemoOptions): Generator<EntityWrite[]> {
  const random = prng(options.seed ?? 1);
  const at = options.at ?? '2026-12-01T00:00:00.000Z';
  const org = options.org;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const int = (low: number, high: number) => low + Math.floor(random() * (high - low + 1));
  const digits = (n: number) => Array.from({ length: n }, () => int(0, 9)).join('');
  const letters = (n: number) => Array.from({ length: n }, () => String.fromCharCode(65 + int(0, 25))).join('');
  // Dates around 2026-12-01 (day 0): -3000 .. +2000 days.
  const base = Date.UTC(2026, 11, 1);
  const day = (offset: number) => new Date(base + offset * 86_400_000).toISOString().slice(0, 10);
  const write = (entity: string, key: string, set: Record<string, string>): EntityWrite => {
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(set)) if (v !== '') fields[k] = v;
    return { org, entity, key, set: fields, at };
  };

  for (let n = 1; n <= options.people; n++) {
    const employeeId = `E${String(n).padStart(6, '0')}`;
    const firstName = pick(FIRST);
    const lastName = pick(LAST);
    const citizenship = pick(COUNTRIES);
    const asciiName = `${firstName}.${lastName}`
      .normalize('NFD')
      .replace(/[^A-Za-z.]/g, '')
      .toLowerCase();
    const email = `${asciiName}.${n}@acme.example`;
    const records: EntityWrite[] = [
      write('foreignNational', employeeId, {
        employeeId,
        firstName,
        lastName,
        email,
        department: pick(DEPARTMENTS),
        jobTitle: pick(TITLES),
        hireDate: day(-int(30, 3000)),
        citizenship,
        status: random() < 0.92 ? 'Active' : 'Terminated',
      }),
    ];
    const passports = random() < 0.15 ? 2 : 1;
    for (let p = 1; p <= passports; p++) {
      const issued = -int(10, 3400);
      const passportId = `PP-${employeeId}-${p}`;
      const expiry = day(issued + 3652);
      const passportNumber = `${letters(1)}${digits(8)}`;
      records.push(
        write('passport', passportId, {
          employeeId,
          passportRecordId: passportId,
          passportNumber,
          issuingCountry: citizenship,
          nationality: citizenship,
          issueDate: day(issued),
          expiryDate: expiry,
          placeOfIssue: pick(PLACES),
          isPrimary: p === 1 ? 'Yes' : 'No',
        }),
        write('immigrationDocument', `DOC-${passportId}`, {
          employeeId,
          documentType: 'Passport',
          documentNumber: passportNumber,
          issuingCountry: citizenship,
          expiryDate: expiry,
        }),
      );
    }
    const caseCount = int(1, 2);
    for (let c = 1; c <= caseCount; c++) {
      const caseId = `C-${employeeId}-${c}`;
      const [caseType, country, form] = pick(CASES);
      const opened = -int(20, 1500);
      const status = pick(CASE_STATUSES);
      const filed = status !== 'Open';
      const approved = status === 'Approved' || status === 'Closed';
      const receiptNumber = filed && country === 'US' ? `${pick(['EAC', 'WAC', 'LIN', 'SRC'])}${digits(10)}` : '';
      const validFrom = approved ? day(opened + int(60, 200)) : '';
      const validTo = approved ? day(opened + int(900, 1300)) : '';
      const petitioner = pick(PETITIONERS);
      records.push(
        write('case', caseId, {
          employeeId,
          caseType,
          petitioner,
          destinationCountry: country,
          caseStatus: status,
          statusDate: day(opened + int(0, 19)),
          openedDate: day(opened),
          receiptNumber,
          receiptDate: filed && receiptNumber ? day(opened + int(10, 40)) : '',
          approvalDate: approved ? day(opened + int(45, 180)) : '',
          validFrom,
          validTo,
          closedDate: status === 'Closed' || status === 'Withdrawn' ? day(opened + int(200, 400)) : '',
        }),
      );
      if (filed) {
        records.push(
          write('petition', `PET-${caseId}`, {
            caseId,
            employeeId,
            petitionType: form,
            classification: caseType.split(' ')[0]!,
            petitioner,
            receiptNumber,
            petitionStatus: status === 'Open' ? 'Draft' : status,
            filedDate: day(opened + int(5, 9)),
            receiptDate: receiptNumber ? day(opened + int(10, 40)) : '',
            approvalDate: approved ? day(opened + int(45, 180)) : '',
            priorityDate: form === 'I-140' ? day(opened + int(5, 9)) : '',
            validFrom,
            validTo,
          }),
        );
      }
      if (approved) {
        const visaId = `V-${caseId}`;
        const issued = opened + int(60, 200);
        const visaNumber = digits(8);
        const visaExpiry = day(issued + int(700, 1100));
        records.push(
          write('visa', visaId, {
            employeeId,
            visaType: country === 'US' ? pick(VISA_TYPES) : caseType,
            visaCountry: country,
            visaNumber,
            issueDate: day(issued),
            expiryDate: visaExpiry,
            placeOfIssue: pick(PLACES),
            entries: random() < 0.8 ? 'Multiple' : 'Single',
          }),
          write('immigrationDocument', `DOC-${visaId}`, {
            employeeId,
            documentType: 'Visa',
            documentNumber: visaNumber,
            issuingCountry: country,
            expiryDate: visaExpiry,
          }),
          write('immigrationDocument', `DOC-I94-${caseId}`, {
            employeeId,
            documentType: pick(DOCUMENT_TYPES),
            documentNumber: digits(11),
            issuingCountry: country,
            expiryDate: validTo || visaExpiry,
          }),
        );
      }
    }
    yield records;
  }
}
