import { describe, expect, it } from 'vitest';
import { acceptAdmits } from '../../../src/core/accept.js';

const json = (t: string) => t === 'application/json';

describe('acceptAdmits', () => {
  it('admits anything when there is no Accept header, or an empty one', () => {
    expect(acceptAdmits(undefined, json)).toBe(true);
    expect(acceptAdmits('  ', json)).toBe(true);
  });

  it('finds an admitted type anywhere in the list, ignoring case, spaces and parameters', () => {
    expect(acceptAdmits('text/html, Application/JSON; charset=utf-8', json)).toBe(true);
    expect(acceptAdmits('text/html,application/xml;q=0.9', json)).toBe(false);
  });

  it('treats q=0 as a refusal of that type', () => {
    expect(acceptAdmits('application/json;q=0', json)).toBe(false);
    expect(acceptAdmits('application/json; q=0, application/json;q=0.5', json)).toBe(true);
  });

  it('skips empty members of the list', () => {
    expect(acceptAdmits(',, application/json', json)).toBe(true);
  });
});
