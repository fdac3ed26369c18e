// A port for a process the test starts later and must name in advance (pods that list each other in PEER_URLS).
// Port 0 hands out a port from the kernel's ephemeral range; released and bound again later, that port may by then be
// the local end of any outgoing connection (the suite makes thousands), and the process fails with EADDRINUSE (CI
// once: workers.test's two pods, both workers of each). Outgoing connections only take ports inside
// ip_local_port_range, so the port is picked below it, at random, and checked free.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** The first port of the kernel's ephemeral range (Linux; the usual default elsewhere). */
function ephemeralStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(first) && first > 2048) return first;
  } catch {
    // Not Linux: IANA's dynamic range starts at 49152; Linux's default at 32768.
  }
  return 32768;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` distinct free ports on 127.0.0.1 below the ephemeral range, for listeners started later. */
export async function portsToListenOnLater(count: number): Promise<number[]> {
  const top = ephemeralStart();
  const bottom = Math.max(1024, top - 12_000);
  const ports = new Set<number>();
  for (let i = 0; i < 200 * count && ports.size < count; i++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if (!ports.has(port) && (await canListen(port))) ports.add(port);
  }
  if (ports.size < count) throw new Error(`not ${count} free ports between ${bottom} and ${top}`);
  return [...ports];
}
