// toGeminiSchema, case by case: JSON Schema in, the OpenAPI subset Gemini parses out.
import { describe, expect, it } from 'vitest';
import { toGeminiSchema } from '../../src/modules/providers/adapters/gemini-schema.js';

const CASES: Array<[string, Record<string, unknown>, Record<string, unknown>]> = [
  [
    'drops what Gemini has no field for',
    { $schema: 'x', $id: 'y', $comment: 'z', type: 'object', additionalProperties: false, properties: { a: { type: 'string', default: 'q', examples: ['q'] } } },
    { type: 'object', properties: { a: { type: 'string' } } },
  ],
  [
    'keeps its own keywords',
    { type: 'string', description: 'd', minLength: 1, maxLength: 9, pattern: '^a' },
    { type: 'string', description: 'd', minLength: 1, maxLength: 9, pattern: '^a' },
  ],
  [
    'keeps only the formats it takes',
    { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, mail: { type: 'string', format: 'email' } } },
    { type: 'object', properties: { at: { type: 'string', format: 'date-time' }, mail: { type: 'string' } } },
  ],
  ['a type list with null: that type, nullable', { type: ['integer', 'null'] }, { type: 'integer', nullable: true }],
  ['a type list of several: anyOf', { type: ['string', 'number'] }, { anyOf: [{ type: 'string' }, { type: 'number' }] }],
  ['const: a one-value enum of type string', { const: 'fast' }, { type: 'string', enum: ['fast'] }],
  ['an enum of numbers is left out (Gemini enums are strings)', { type: 'integer', enum: [1, 2, null] }, { type: 'integer', nullable: true }],
  [
    'anyOf with a null member: the other member, nullable',
    { anyOf: [{ type: 'string', enum: ['a', 'b'] }, { const: null }] },
    { type: 'string', enum: ['a', 'b'], nullable: true },
  ],
  ['oneOf as anyOf', { oneOf: [{ type: 'string' }, { type: 'integer' }] }, { anyOf: [{ type: 'string' }, { type: 'integer' }] }],
  [
    'allOf merged into one schema',
    { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'number' } } }] },
    { type: 'object', properties: { a: { type: 'string' }, b: { type: 'number' } }, required: ['a'] },
  ],
  [
    'a local $ref inlined, its siblings over the definition',
    { type: 'object', properties: { p: { $ref: '#/definitions/P', description: 'who' } }, definitions: { P: { type: 'string', description: 'a person' } } },
    { type: 'object', properties: { p: { type: 'string', description: 'who' } } },
  ],
  [
    'a recursive $ref stops at its second level; a foreign one leaves its siblings',
    {
      type: 'object',
      properties: { n: { $ref: '#/$defs/N' }, x: { $ref: 'https://example.com/x.json', description: 'x' } },
      $defs: { N: { type: 'object', properties: { next: { $ref: '#/$defs/N' } } } },
    },
    { type: 'object', properties: { n: { type: 'object', properties: { next: {} } }, x: { description: 'x' } } },
  ],
  [
    'required keeps only declared properties',
    { type: 'object', properties: { a: { type: 'string' } }, required: ['a', 'ghost'] },
    { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
  ],
  [
    'a type left to the shape is said',
    { properties: { a: { items: { enum: ['x'] } } } },
    { type: 'object', properties: { a: { type: 'array', items: { type: 'string', enum: ['x'] } } } },
  ],
  ['arrays: items converted', { type: 'array', items: { type: ['string', 'null'], maxLength: 3 } }, { type: 'array', items: { type: 'string', maxLength: 3, nullable: true } }],
];

describe('toGeminiSchema', () => {
  it.each(CASES)('%s', (_, input, expected) => {
    expect(toGeminiSchema(input, 'tools')).toEqual(expected);
  });
});

describe('toGeminiSchema bounds', () => {
  it('refuses a schema whose references fan out past the node budget, naming the field', () => {
    // Each definition refers to the next twice: 2^30 nodes once inlined, from under 2 KB of JSON.
    const $defs = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`d${i}`, { type: 'object', properties: { a: { $ref: `#/$defs/d${i + 1}` }, b: { $ref: `#/$defs/d${i + 1}` } } }]),
    );
    const schema = { type: 'object', properties: { root: { $ref: '#/$defs/d0' } }, $defs };
    expect(() => toGeminiSchema(schema, 'tools')).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', details: { field: 'tools' } }));
  });

  it('leaves out allOf members that are not schemas', () => {
    expect(toGeminiSchema({ allOf: [null, { type: 'string' }] }, 'responseFormat')).toEqual({ type: 'string' });
  });
});
