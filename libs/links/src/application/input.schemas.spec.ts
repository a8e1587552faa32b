import { z } from 'zod';
import { instant, LONE_SURROGATE_DETAIL, NUL_DETAIL, storableText, targetText, text } from './input.schemas';
import { bulkCreateLinksSchema, RefusedBulkItem } from './link.schemas';

const issues = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues.map((i) => [i.path.join('/'), i.message]) ?? [];

describe(text.name, () => {
  it('takes well-formed text, surrogate pairs and noncharacters included', () => {
    expect(issues(text(), 'a\u00e9\ud83d\ude00\uffff')).toEqual([]);
  });

  it.each(['\ud800', 'a\udc00b', '\ude00\ud83d'])('refuses the lone surrogate in %p', (value) => {
    expect(issues(text(), value)).toEqual([['', LONE_SURROGATE_DETAIL]]);
  });

  it.each(['\u0000', 'a\u0000b'])('refuses U+0000 in %p', (value) => {
    expect(issues(text(), value)).toEqual([['', NUL_DETAIL]]);
  });

  it('names both faults of a string that has both', () => {
    expect(issues(text(), '\u0000\ud800')).toEqual([
      ['', LONE_SURROGATE_DETAIL],
      ['', NUL_DETAIL],
    ]);
  });
});

describe(targetText.name, () => {
  it('refuses a lone surrogate and leaves U+0000 to the target policy', () => {
    expect([issues(targetText(), 'https://example.com/\ud800'), issues(targetText(), 'https://example.com/\u0000')]).toEqual([
      [['', LONE_SURROGATE_DETAIL]],
      [],
    ]);
  });
});

describe(storableText.name, () => {
  it('replaces each lone surrogate and each U+0000 with U+FFFD, and keeps pairs', () => {
    expect(storableText('k\ud800\u0000x\ud83d\ude00\udc00')).toBe('k\ufffd\ufffdx\ud83d\ude00\ufffd');
    expect(issues(text(), storableText('\u0000\ud800'))).toEqual([]);
  });
});

describe(instant.name, () => {
  it('takes 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z in UTC', () => {
    for (const v of ['0001-01-01T00:00:00Z', '0001-01-01T01:00:00+01:00', '9999-12-31T23:59:59.999Z', '9999-12-31T22:59:59-01:00']) {
      expect(issues(instant(), v)).toEqual([]);
    }
  });

  it.each(['0000-01-01T00:00:00Z', '0001-01-01T00:00:00+00:01', '9999-12-31T23:59:59-00:01'])('refuses %p, outside that range in UTC', (value) => {
    expect(issues(instant(), value)).toEqual([['', 'must be between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z once converted to UTC']]);
  });

  it('reports a malformed timestamp once', () => {
    expect(issues(instant(), '2030-01-01T00:00:00')).toEqual([['', 'must be an RFC 3339 timestamp with an offset, e.g. 2030-01-01T00:00:00Z']]);
  });
});

describe('bulkCreateLinksSchema', () => {
  it('keeps a refused item in its place, with its issues, and parses the others', () => {
    const bad = { url: 'https://example.com/', title: 'a\ud800', 'x/~y': 1 };
    const nul = { url: 'https://example.com/', tags: ['ok', 'a\u0000'] };
    const parsed = bulkCreateLinksSchema.parse({ items: [{ url: 'https://example.com/a' }, bad, null, nul] });
    expect(parsed.items[0]).toEqual({ url: 'https://example.com/a', redirectType: 302, forwardQuery: true, tags: [] });
    expect(parsed.items.slice(1).map((i) => i instanceof RefusedBulkItem && [i.input, i.issues])).toEqual([
      [
        bad,
        [
          { pointer: '/title', detail: LONE_SURROGATE_DETAIL },
          { pointer: '', detail: 'Unrecognized key: "x/~y"' },
        ],
      ],
      [null, [{ pointer: '', detail: 'Invalid input: expected object, received null' }]],
      [nul, [{ pointer: '/tags/1', detail: NUL_DETAIL }]],
    ]);
  });

  it("answers a refused item's problem with pointers into the request body, made well-formed", () => {
    const item = new RefusedBulkItem({}, [
      { pointer: '/tags/0', detail: LONE_SURROGATE_DETAIL },
      { pointer: '/k\ud800', detail: 'Unrecognized key: "k\ud800"' },
    ]);
    expect(item.problem(7)).toEqual({
      type: 'urn:shortener:problem:validation-failed',
      title: 'The request is invalid',
      status: 400,
      detail: `/items/7/tags/0: ${LONE_SURROGATE_DETAIL}; /items/7/k\ufffd: Unrecognized key: "k\ufffd"`,
      errors: [
        { pointer: '/items/7/tags/0', detail: LONE_SURROGATE_DETAIL },
        { pointer: '/items/7/k\ufffd', detail: 'Unrecognized key: "k\ufffd"' },
      ],
    });
  });

  it('still refuses the envelope as a whole', () => {
    expect(issues(bulkCreateLinksSchema, { items: [] }).map(([path]) => path)).toEqual(['items']);
    expect(issues(bulkCreateLinksSchema, { items: [{ url: 'https://example.com/' }], more: 1 }).map(([path]) => path)).toEqual(['']);
  });

  it('documents each item as a link create, with no default', () => {
    const schema = z.toJSONSchema(bulkCreateLinksSchema, { io: 'input' }) as unknown as { properties: { items: { items: Record<string, unknown> } } };
    expect(schema.properties.items.items).toMatchObject({ type: 'object', required: ['url'], additionalProperties: false });
    expect(Object.keys(schema.properties.items.items)).not.toContain('default');
  });
});
