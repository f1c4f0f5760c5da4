import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadHeaderFixture, measureSmartMapping } from '../../bench/smart-mapping.ts';
import {
  type ColumnSuggestion,
  headerTokens,
  jaroWinkler,
  type MappableField,
  normalizeHeader,
  type SegmentWork,
  segmentWord,
  suggestMapping,
} from '../../functions/core/transfer/smart-mapping.ts';

const FIELDS: MappableField[] = loadHeaderFixture().fields;

function fieldOf(suggestions: ColumnSuggestion[], column: string): string | undefined {
  const found = suggestions.find((s) => s.column === column);
  assert.ok(found, `no suggestion for column "${column}"`);
  return found.field;
}

function mapOne(header: string, fields: MappableField[] = FIELDS): ColumnSuggestion {
  const [only] = suggestMapping([header], fields);
  assert.ok(only);
  return only;
}

describe('normalizeHeader', () => {
  const cases: [string, string][] = [
    ['Employee ID', 'employee id'],
    ['employee_id', 'employee id'],
    ['employeeId', 'employee id'],
    ['EmployeeID', 'employee id'],
    ['EMPLOYEE-ID', 'employee id'],
    ['\uFEFFEmployee ID', 'employee id'],
    ['EMP_NO', 'employee number'],
    ['Emp #', 'employee number'],
    ['EE ID', 'employee id'],
    ['Pers.No.', 'personnel number'],
    ['Dept.', 'department'],
    ['Mgr Email', 'manager email'],
    ["Manager's Email", 'manager email'],
    ['Supervisor’s E-mail', 'supervisor email'],
    ['E-mail Address', 'email address'],
    ['eMail', 'email'],
    ['Official Email ID', 'official email'],
    ['D.O.B.', 'date birth'],
    ['DOB', 'date birth'],
    ['Date of Birth', 'date birth'],
    ['addr1', 'address 1'],
    ['HIREDATE', 'hire date'],
    ['EMPID', 'employee id'],
    ['Legal Firstname', 'legal first name'],
    ['Cost_Centers', 'cost center'],
    ['Cost Centre', 'cost center'],
    ['First Name [Required]', 'first name'],
    ['Office [physicalDeliveryOfficeName]', 'office'],
    ['Status', 'status'],
    ['Address', 'address'],
    ['Prénom', 'prenom'],
    ['Ciudad de Nacimiento', 'ciudad de nacimiento'],
    ['Full/Part Time', 'full part time'],
    ['', ''],
  ];
  for (const [raw, expected] of cases) {
    it(`"${raw}" -> "${expected}"`, () => assert.equal(normalizeHeader(raw), expected));
  }

  it('can drop a parenthesized note', () => {
    assert.deepEqual(headerTokens('Hire Date (MM/DD/YYYY)', { dropParenthesized: true }), ['hire', 'date']);
    assert.deepEqual(headerTokens('Hire Date (MM/DD/YYYY)'), ['hire', 'date', 'mm', 'dd', 'yyyy']);
  });
});

describe('jaroWinkler', () => {
  it('is 1 for equal strings, 0 for nothing in common, and high for a transposition', () => {
    assert.equal(jaroWinkler('first', 'first'), 1);
    assert.equal(jaroWinkler('abc', 'xyz'), 0);
    assert.ok(jaroWinkler('frist', 'first') > 0.9);
    assert.ok(jaroWinkler('rehire', 'hire') < 0.9);
    // The textbook example: MARTHA / MARHTA = 0.961.
    assert.ok(Math.abs(jaroWinkler('martha', 'marhta') - 0.961) < 0.001);
  });
});

describe('suggestMapping: names and synonyms', () => {
  const expectations: [string, string][] = [
    ['Nick Name', 'preferredName'],
    ['Preferred Name', 'preferredName'],
    ['Known As', 'preferredName'],
    ['nickName', 'preferredName'],
    ['Preferred Name - First Name', 'preferredName'],
    ['Worker ID', 'employeeId'],
    ['Employee Number', 'employeeId'],
    ['File Number', 'employeeId'],
    ['person-id-external', 'employeeId'],
    ['E-mail Address', 'email'],
    ['Primary Work Email', 'email'],
    ['mail', 'email'],
    ["Manager's Email", 'managerEmail'],
    ['Supervisor Email', 'managerEmail'],
    ['work.reportsTo.email', 'managerEmail'],
    ['Legal Name - First Name', 'firstName'],
    ['givenName', 'firstName'],
    ['Surname', 'lastName'],
    ['MI', 'middleName'],
    ['Business Title', 'jobTitle'],
    ['Designation', 'jobTitle'],
    ['Date of Joining', 'hireDate'],
    ['DOH', 'hireDate'],
    ['Term Date', 'terminationDate'],
    ['D.O.B.', 'dateOfBirth'],
    ['Sex', 'gender'],
    ['Nationality', 'citizenship'],
    ['Birth Country', 'countryOfBirth'],
    ['Cost Ctr', 'costCenter'],
    ['Home Department Description', 'department'],
    ['Worker Type', 'employmentType'],
    ['Employee Status', 'status'],
    ['Office Phone', 'phone'],
    ['Work Site', 'workLocation'],
  ];
  for (const [header, field] of expectations) {
    it(`"${header}" -> ${field}`, () => assert.equal(mapOne(header).field, field));
  }

  it('gives an exact title full confidence and says so', () => {
    const s = mapOne('Nick Name');
    assert.equal(s.confidence, 1);
    assert.equal(s.reason, 'exact title');
  });

  it('names the synonym it used', () => {
    const s = mapOne('Worker ID');
    assert.equal(s.field, 'employeeId');
    assert.match(s.reason, /synonym: worker id/);
    assert.ok(s.confidence >= 0.9 && s.confidence < 1);
  });

  it("never maps another person's attribute to the employee's field", () => {
    const withoutManagerEmail = FIELDS.filter((f) => f.id !== 'managerEmail');
    for (const header of [
      "Manager's Email",
      'Supervisor E-mail',
      'Emergency Contact Phone',
      'Manager ID',
      "Father's Name",
    ]) {
      assert.equal(mapOne(header, withoutManagerEmail).field, undefined, header);
    }
  });

  it('maps both "Email" and "Manager\'s Email" in one file to their own fields', () => {
    const s = suggestMapping(['Email', "Manager's Email"], FIELDS);
    assert.equal(fieldOf(s, 'Email'), 'email');
    assert.equal(fieldOf(s, "Manager's Email"), 'managerEmail');
  });

  it('keeps attributes of a field away from it (type, date, reason, extension)', () => {
    for (const header of ['Email Type', 'Status Date', 'Termination Reason', 'Phone Extension', 'Marital Status']) {
      assert.equal(mapOne(header).field, undefined, header);
    }
  });

  it('leaves distractors unmapped', () => {
    const headers = [
      'Salary',
      'Pay Grade',
      'SSN',
      'Tax ID (SSN)',
      'Name',
      'Display Name',
      'Country',
      'City',
      'Company',
    ];
    for (const s of suggestMapping(headers, FIELDS)) assert.equal(s.field, undefined, s.column);
  });

  it('takes a typo by similarity, with lower confidence', () => {
    const s = mapOne('Frist Name');
    assert.equal(s.field, 'firstName');
    assert.ok(s.confidence < 0.9);
    assert.match(s.reason, /^similar to "/);
  });

  it('uses the synonym table for a template whose ids differ, by title', () => {
    const fields: MappableField[] = [
      { id: 'nickName', title: 'Nick Name' },
      { id: 'emp_id', title: 'Employee ID' },
    ];
    const s = suggestMapping(['Preferred Name', 'Worker ID'], fields);
    assert.equal(fieldOf(s, 'Preferred Name'), 'nickName');
    assert.equal(fieldOf(s, 'Worker ID'), 'emp_id');
  });

  it('matches fields it has no synonyms for by title, id and aliases', () => {
    const fields: MappableField[] = [
      { id: 'passportNumber', title: 'Passport Number' },
      { id: 'visaType', title: 'Visa Type', aliases: ['Visa Class'] },
    ];
    const s = suggestMapping(['Passport No.', 'Visa Class', 'passport_number_old'], fields);
    assert.equal(fieldOf(s, 'Passport No.'), 'passportNumber');
    assert.equal(fieldOf(s, 'Visa Class'), 'visaType');
    assert.match(s[1]!.reason, /^alias: Visa Class/);
  });
});

describe('suggestMapping: template aliases', () => {
  it('an alias counts, but the synonym table keeps its order among names it knows', () => {
    const fields: MappableField[] = [
      { id: 'hireDate', title: 'Hire Date', aliases: ['Original Hire Date', 'Start Date'] },
    ];
    const s = suggestMapping(['Original Hire Date', 'Last Hire Date'], fields);
    assert.equal(fieldOf(s, 'Last Hire Date'), 'hireDate');
    const alone = suggestMapping(['Original Hire Date'], fields);
    assert.equal(alone[0]!.field, 'hireDate');
  });
});

describe('suggestMapping: one field, one column', () => {
  it('gives a field to the best column only', () => {
    const s = suggestMapping(['Personal Email', 'Work Email'], FIELDS);
    assert.equal(fieldOf(s, 'Work Email'), 'email');
    assert.equal(fieldOf(s, 'Personal Email'), undefined);
    assert.match(s[0]!.reason, /went to "Work Email"/);
  });

  it('prefers the plain hire date to the original one, and a start date only when there is no hire date', () => {
    const both = suggestMapping(['Original Hire Date', 'Start Date', 'Hire Date'], FIELDS);
    assert.equal(fieldOf(both, 'Hire Date'), 'hireDate');
    assert.equal(fieldOf(both, 'Start Date'), undefined);
    assert.equal(fieldOf(both, 'Original Hire Date'), undefined);
    assert.equal(fieldOf(suggestMapping(['Original Hire Date', 'Start Date'], FIELDS), 'Start Date'), 'hireDate');
  });

  it('lets a column that lost its best field take its next one', () => {
    // "Employment Status" is status at 0.9 but loses it to "Status"; it then goes to employmentType (0.62).
    const s = suggestMapping(['Status', 'Employment Status'], FIELDS);
    assert.equal(fieldOf(s, 'Status'), 'status');
    assert.equal(fieldOf(s, 'Employment Status'), 'employmentType');
  });

  it('never assigns a field twice, and answers every column in order', () => {
    const headers = ['Email', 'E-mail', 'Email Address', 'Work Email', 'Mail', 'Employee ID', 'Worker ID', 'Emp #'];
    const s = suggestMapping(headers, FIELDS);
    assert.deepEqual(
      s.map((x) => x.column),
      headers,
    );
    const assigned = s.flatMap((x) => (x.field ? [x.field] : []));
    assert.deepEqual(assigned.sort(), ['email', 'employeeId']);
    for (const x of s) assert.ok(x.confidence >= 0 && x.confidence <= 1);
  });

  it('breaks exact ties by column order', () => {
    const s = suggestMapping(['Cost Center 1', 'Cost Center 2'], FIELDS);
    assert.equal(s[0]!.field, 'costCenter');
    assert.equal(s[1]!.field, undefined);
  });
});

describe('suggestMapping: threshold', () => {
  it('drops suggestions below the threshold and reports the best candidate', () => {
    const loose = mapOne('Frist Name');
    assert.equal(loose.field, 'firstName');
    const [strict] = suggestMapping(['Frist Name'], FIELDS, { threshold: 0.9 });
    assert.equal(strict!.field, undefined);
    assert.equal(strict!.confidence, loose.confidence);
    assert.match(strict!.reason, /^below threshold 0.9: best "First Name"/);
  });

  it('a low threshold lets weaker evidence through', () => {
    assert.equal(mapOne('Job').field, undefined);
    const [s] = suggestMapping(['Job'], FIELDS, { threshold: 0.3 });
    assert.equal(s!.field, 'jobTitle');
  });

  it('a column with no candidate says so', () => {
    assert.deepEqual(mapOne('Aadhaar'), { column: 'Aadhaar', confidence: 0, reason: 'no match' });
  });
});

describe('suggestMapping: samples', () => {
  it('breaks a tie between equal headers in favour of the column whose values fit', () => {
    const headers = ['Email', 'E-mail'];
    const samples = [
      ['John Smith', 'john.smith@example.com'],
      ['Ana Lopez', 'ana.lopez@example.com'],
    ];
    assert.equal(suggestMapping(headers, FIELDS)[0]!.field, 'email');
    const s = suggestMapping(headers, FIELDS, { samples });
    assert.equal(s[0]!.field, undefined);
    assert.equal(s[1]!.field, 'email');
    assert.match(s[1]!.reason, /samples: values look like emails/);
  });

  it('boosts date fields for date values and drops them for values that are not dates', () => {
    const dated = suggestMapping(['Start'], FIELDS, { threshold: 0.3, samples: [['2024-01-15'], ['03/02/2023']] })[0]!;
    const plain = suggestMapping(['Start'], FIELDS, { threshold: 0.3 })[0]!;
    assert.ok(dated.confidence > plain.confidence || plain.field === undefined);
    const notDates = suggestMapping(['Hire Date'], FIELDS, { samples: [['yes'], ['no']] })[0]!;
    assert.equal(notDates.field, undefined);
  });

  it('reads typical values: Full-Time/Part-Time is an employment type, not a status', () => {
    const headers = ['Employment Status'];
    assert.equal(suggestMapping(headers, FIELDS)[0]!.field, 'status');
    const s = suggestMapping(headers, FIELDS, {
      samples: [['Full-Time'], ['Part-Time'], ['Full-Time'], ['Contractor']],
    });
    assert.equal(s[0]!.field, 'employmentType');
    const active = suggestMapping(headers, FIELDS, { samples: [['Active'], ['Terminated']] });
    assert.equal(active[0]!.field, 'status');
  });

  it('does not take honorifics for a job title', () => {
    assert.equal(mapOne('Title').field, 'jobTitle');
    const s = suggestMapping(['Title'], FIELDS, { samples: [['Mr.'], ['Dr'], ['Ms.']] });
    assert.equal(s[0]!.field, undefined);
  });

  it('does not give an email field to a column of names', () => {
    const s = suggestMapping(['Supervisor Email'], FIELDS, { samples: [['Jane Doe'], ['Raj Patel']] });
    assert.equal(s[0]!.field, undefined);
  });

  it('ignores empty sample cells and short rows', () => {
    const s = suggestMapping(['Email', 'Hire Date'], FIELDS, { samples: [[''], ['a@b.co']] });
    assert.equal(s[0]!.field, 'email');
    assert.equal(s[1]!.field, 'hireDate');
  });
});

describe('smart mapping on the labelled HR header sets', () => {
  const m = measureSmartMapping();

  it('covers at least 40 header sets', () => {
    assert.ok(m.headers >= 40, `${m.headers} header sets`);
    assert.ok(m.labelled > 0 && m.columns > m.labelled);
  });

  it('keeps precision and recall above their floors', () => {
    assert.ok(m.precision >= 0.95, `precision ${m.precision.toFixed(3)} fell below 0.95`);
    assert.ok(m.recall >= 0.95, `recall ${m.recall.toFixed(3)} fell below 0.95`);
  });

  it('keeps every source family usable', () => {
    for (const [family, c] of Object.entries(m.perSource)) {
      assert.ok(c.precision >= 0.85, `${family}: precision ${c.precision.toFixed(3)}`);
      assert.ok(c.recall >= 0.7, `${family}: recall ${c.recall.toFixed(3)}`);
    }
  });
});

describe('segmentWord (glued words)', () => {
  it('splits as before: fewest known pieces', () => {
    assert.deepEqual(segmentWord('hiredate'), ['hire', 'date']);
    assert.deepEqual(segmentWord('employeenumber'), ['employee', 'number']);
    assert.equal(segmentWord('qwxzvbnm'), undefined);
  });

  it('does work linear in the word: a few thousand characters cost at most length x longest vocabulary word', () => {
    // Before: every (start, end) pair, each copying the pieces so far (4,000 characters took 7 s, 8,000 took 61 s).
    const vocabulary = new Set(['hire', 'date', 'employee', 'number', 'id', 'no']);
    const longest = 8;
    for (const word of ['hiredate'.repeat(1000), 'a'.repeat(8000), `${'employeenumber'.repeat(500)}x`]) {
      const work: SegmentWork = { steps: 0 };
      const pieces = segmentWord(word, vocabulary, work);
      assert.ok(work.steps <= word.length * longest, `${work.steps} steps for ${word.length} characters`);
      if (word.startsWith('hiredate')) assert.equal(pieces?.length, 2000);
      else assert.equal(pieces, undefined);
    }
  });
});
