/** Repo root, the venv folder and the requirements file it is built from. */
export declare const ROOT: string;
export declare const VENV_DIR: string;
export declare const REQUIREMENTS: string;
/** Path of a venv's python (default: the repo's .venv). */
export declare function venvPython(venv?: string): string;
/** Creates/updates .venv from test/python/requirements.txt when needed (pip progress shown unless quiet); returns its python. */
export declare function ensurePythonEnv(opts?: { quiet?: boolean; log?: (msg: string) => void }): Promise<string>;
