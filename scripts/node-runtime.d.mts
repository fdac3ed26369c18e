export const MIN_NODE: string;
export function isSupported(version?: string): boolean;
export function npmProvidedNode(major: number, log?: (message: string) => void): string;
export function envWithNode(bin: string, env?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
export function runOnSupportedNode(scriptUrl: string, name: string, nodeArgs?: string[]): Promise<void>;
