/**
 * An nginx round-robin balancer in front of gateway replicas, for C1 (`--c1-balancer nginx`): what a deployment puts
 * there, where the tests' own balancer (test/helpers/replicas.ts roundRobinProxy, in Node) costs about as much CPU as
 * a replica. One process (`master_process off`, so its CPU is one pid's), no stickiness, keep-alive connections to
 * the replicas, answers streamed through (`proxy_buffering off`, as the Node balancer pipes them), logs and temporary
 * files in a folder of its own, removed on close. Needs `nginx` on PATH (Debian: `apt-get install nginx-light`).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface NginxBalancer {
  url: string;
  pid: number;
  /** nginx's own version line, for the result. */
  version: string;
  close(): Promise<void>;
}

function config(dir: string, port: number, targets: string[]): string {
  const servers = targets.map((t) => `    server ${new URL(t).host};`).join('\n');
  return `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream gateway {
${servers}
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    client_max_body_size 0;
    location / {
      proxy_pass http://gateway;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_buffering off;
      proxy_read_timeout 300s;
      # A GET records that failed on its way may have been handed out already (docs/consuming-over-http.md).
      proxy_next_upstream off;
    }
  }
}
`;
}

/** Starts nginx on `port` in front of `targets` (base URLs); resolves once it accepts connections. */
export async function nginxBalancer(targets: string[], port: number): Promise<NginxBalancer> {
  const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`--c1-balancer nginx needs nginx on PATH (${probe.error.message})`);
  const version = `${probe.stderr}${probe.stdout}`.trim(); // "nginx version: nginx/1.22.1", on stderr
  const dir = mkdtempSync(path.join(os.tmpdir(), 'kgw-bench-nginx-'));
  writeFileSync(path.join(dir, 'nginx.conf'), config(dir, port, targets));
  const child: ChildProcess = spawn(
    'nginx',
    ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  const exited = once(child, 'exit');
  const close = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT'); // graceful: finish, then exit
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (const deadline = Date.now() + 10_000; ; ) {
      if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${errors(dir)}`);
      if (await accepts(port)) break;
      if (Date.now() > deadline) throw new Error(`nginx did not listen on ${port} in 10 s: ${errors(dir)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { url: `http://127.0.0.1:${port}`, pid: child.pid!, version, close };
}

function errors(dir: string): string {
  try {
    return readFileSync(path.join(dir, 'error.log'), 'utf8').trim();
  } catch {
    return '(no error log)';
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
