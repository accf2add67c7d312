import { readFileSync } from 'node:fs';
import { WIRE_ERRORS } from '@spool/shared';
import { describe, expect, it } from 'vitest';
import { ALL_ERRORS, COORDINATOR_ERRORS } from '../src/errors.ts';

const doc = readFileSync(new URL('../ERRORS.md', import.meta.url), 'utf8');
const rows = new Map([...doc.matchAll(/^\| `(SPOOL_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));

describe('ERRORS.md', () => {
  it('documents every code of both registries with its status', () => {
    for (const [code, spec] of Object.entries(ALL_ERRORS)) {
      expect(rows.get(code), `${code} is missing from ERRORS.md`).toBe(spec.status);
    }
  });

  it('documents no code that is in neither registry', () => {
    for (const code of rows.keys()) expect(Object.keys(ALL_ERRORS)).toContain(code);
  });

  it('keeps the registries apart: no coordinator code shadows a wire code', () => {
    for (const code of Object.keys(COORDINATOR_ERRORS)) expect(Object.keys(WIRE_ERRORS)).not.toContain(code);
  });
});
