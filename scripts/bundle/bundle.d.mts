/** Bundles `<dir>/main.js` into `<dir>/bundle/main.js` (+ chunks); resolves to the bundle's entry file. */
export function bundleGateway(dir: string): Promise<string>;
