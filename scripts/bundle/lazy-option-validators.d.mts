import type { Plugin } from 'esbuild';

/** `utils.js` of @platformatic/kafka with its ajv instance built on first use; throws if it no longer reads as expected. */
export function lazyInstance(source: string, file: string): string;
/** An option module of @platformatic/kafka with each validator compiled on its first call. */
export function lazyValidators(source: string, file: string): string;
/** The Confluent schema registry client of @platformatic/kafka with its schema libraries loaded on first use. */
export function lazyRegistry(source: string, file: string): string;
/** The esbuild plugin the gateway's bundle uses. */
export const lazyOptionValidators: Plugin;
