import type { Plugin } from 'esbuild';

/** zod's locale index with English only; throws if it no longer lists English as it did. */
export function englishOnly(source: string, file: string): string;
/** The esbuild plugin the gateway's bundle uses. */
export const zodEnglishOnly: Plugin;
