import type { Server } from 'node:http';
import { isIP } from 'node:net';
import type { HttpLimits } from '../config.js';

/**
 * Connection hygiene on the HTTP server: Node's own timeouts for headers, whole requests and idle
 * keep-alive connections, and a cap on open connections (HTTP and WebSocket alike) per client address.
 * A connection over the cap is closed at once, before a byte is read. Loopback is never capped (a reverse
 * proxy on the same host, the benchmarks), nor is anything when the server sits behind trusted proxies,
 * where every connection comes from a proxy's address.
 *
 * @returns how many connections each address holds now (for tests and metrics).
 */
export function installConnectionLimits(
  server: Server,
  limits: HttpLimits,
  options: { behindProxy: boolean },
): { connectionsOf(address: string): number } {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  const open = new Map<string, number>();
  const cap = options.behindProxy ? 0 : limits.maxConnectionsPerAddress;
  if (cap > 0) {
    server.on('connection', (socket) => {
      const address = socket.remoteAddress;
      if (!address || isLoopback(address)) return;
      const count = (open.get(address) ?? 0) + 1;
      if (count > cap) {
        socket.destroy();
        return;
      }
      open.set(address, count);
      socket.once('close', () => {
        const left = (open.get(address) ?? 1) - 1;
        if (left <= 0) open.delete(address);
        else open.set(address, left);
      });
    });
  }
  return { connectionsOf: (address) => open.get(address) ?? 0 };
}

function isLoopback(address: string): boolean {
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(plain) === 4) return plain.startsWith('127.');
  return plain === '::1';
}
