import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { markHistorical } from '../../../agent/county/historical.js';

describe('markHistorical', () => {
  it('adds historical:true to any stored payload object without changing the rest', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string().filter((k) => k !== 'historical'), fc.jsonValue()), (obj) => {
        const text = JSON.stringify(obj);
        expect(JSON.parse(markHistorical(text))).toEqual({ ...JSON.parse(text), historical: true });
      }),
    );
  });

  it('handles pretty-printed text and the empty object', () => {
    expect(JSON.parse(markHistorical('{\n  "seq": 1\n}\n'))).toEqual({ seq: 1, historical: true });
    expect(JSON.parse(markHistorical('{}'))).toEqual({ historical: true });
  });
});
