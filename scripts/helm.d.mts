/** Helm version built from the Go module proxy when no helm is on PATH (overridable with HELM_VERSION). */
export declare const HELM_VERSION: string;
/** Path of a usable helm binary: PATH, else .cache/bin/helm, else built there with `go install` (minutes, once). */
export declare function ensureHelm(opts?: { quiet?: boolean }): Promise<string>;
