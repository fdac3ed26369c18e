/** The shapes the AsyncAPI data (messages.ts, connection.ts) is written in and document.ts assembles. */
import type { z } from 'zod';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type JsonObject = { [k: string]: Json };

export interface Example {
  name: string;
  summary: string;
  payload: Record<string, unknown>;
}

export interface MessageSpec {
  /** Client → gateway (the gateway receives) or gateway → client (the gateway sends). */
  direction: 'receive' | 'send';
  schema: z.ZodType;
  title: string;
  summary: string;
  description: string;
  /**
   * Field descriptions by path: `topics`, `topics[]`, `partitions[].topic`, `from.offset`. For a message that is
   * a union over `mode`, `<mode>:<path>` overrides `<path>` in that variant. `type` is described automatically.
   */
  fields: Record<string, string>;
  examples: Example[];
  /** What the gateway answers with (AsyncAPI operation reply). */
  reply?: string[];
}
