import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import {
  type HostMethods,
  HTTP_FETCH_MAX_REDIRECTS as OUTBOUND_MAX_REDIRECTS,
  HTTP_FETCH_REQUEST_BODY_LIMIT as OUTBOUND_REQUEST_BODY_LIMIT,
  HTTP_FETCH_RESPONSE_BODY_LIMIT as OUTBOUND_RESPONSE_BODY_LIMIT,
} from '@kaiwa/plugin-sdk';
import { PluginError } from './errors.js';

/**
 * One `capabilities.network.outbound` entry: `host`, `host:port`, `*.domain` (any name under it, not the domain
 * itself), each HTTPS only (port 443 unless named); `http://host[:port]` allows plain HTTP to that host (port 80
 * unless named) and nothing else.
 */
interface OutboundEntry {
  scheme: 'https' | 'http';
  /** Lower case; for a wildcard, the part after `*.`. */
  host: string;
  wildcard: boolean;
  port: number;
}

/** Reads a manifest entry (already checked by the manifest schema). */
function parseOutboundEntry(entry: string): OutboundEntry {
  const scheme = entry.toLowerCase().startsWith('http://') ? 'http' : 'https';
  let rest = entry.replace(/^https?:\/\//i, '').toLowerCase();
  let port = scheme === 'http' ? 80 : 443;
  const colon = rest.lastIndexOf(':');
  if (colon !== -1) {
    port = Number(rest.slice(colon + 1));
    rest = rest.slice(0, colon);
  }
  const wildcard = rest.startsWith('*.');
  return { scheme, host: wildcard ? rest.slice(2) : rest, wildcard, port };
}

/** The declared entry a URL is allowed by, if any: scheme, host (or wildcard) and port exactly. */
function matchOutbound(entries: readonly OutboundEntry[], url: URL): OutboundEntry | undefined {
  const scheme = url.protocol.slice(0, -1);
  const host = url.hostname.toLowerCase();
  const port = url.port === '' ? (scheme === 'http' ? 80 : 443) : Number(url.port);
  return entries.find(
    (entry) =>
      entry.scheme === scheme &&
      entry.port === port &&
      (entry.wildcard ? isIP(host) === 0 && host.endsWith(`.${entry.host}`) : entry.host === host),
  );
}

const nonPublic = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(network, prefix, 'ipv6');
}

/**
 * Whether an address is one a name may lead a plugin to: not private, loopback, link-local, shared (CGNAT),
 * multicast, reserved or documentation space, in IPv4 or IPv6 (an IPv4-mapped IPv6 address counts as its IPv4).
 */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return !nonPublic.check(mapped, 'ipv4');
  const family = isIP(address);
  if (family === 0) return false;
  return !nonPublic.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

// Never passed on, either way: hop-by-hop headers, what Kaiwa sets itself, and cookies.
const DROPPED_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
  'host',
  'content-length',
  'expect',
  'accept-encoding',
  'cookie',
  'cookie2',
  'set-cookie',
  'set-cookie2',
]);

function keptHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const named = new Set(
    [headers.connection ?? headers.Connection ?? []]
      .flat()
      .flatMap((value) => value.split(','))
      .map((name) => name.trim().toLowerCase()),
  );
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value === undefined || DROPPED_HEADERS.has(lower) || named.has(lower)) continue;
    kept[lower] = Array.isArray(value) ? value.join(', ') : value;
  }
  return kept;
}

export type OutboundRequest = HostMethods['http.fetch']['params'];
export type OutboundResponse = HostMethods['http.fetch']['result'];

export interface OutboundHttpConfig {
  pluginId: string;
  /** The manifest's `capabilities.network.outbound`. */
  outbound: readonly string[];
  /** The longest a request may take, all redirects included: the plugin's call deadline. */
  timeoutMs: number;
  /** Requests a plugin may have in flight at once. Default 8. */
  maxConcurrent?: number;
  /** Requests a plugin may start per minute (a token bucket refilled evenly). Default 120. */
  maxPerMinute?: number;
  /** Resolves names; default `dns.lookup`. Every address it answers is checked. */
  lookup?: typeof dnsLookup;
}

/** A refusal by the manifest, naming the capability that would allow the request. */
export type OutboundDenial = PluginError & { capability: string };

const deny = (pluginId: string, message: string, capability: string): OutboundDenial =>
  Object.assign(new PluginError('capability_denied', message, { pluginId }), { capability });

/**
 * Kaiwa's side of a plugin's `http.fetch`: each request (and each redirect hop, at most
 * 5) must name a scheme, host and port the manifest declares exactly; a declared
 * name must resolve only to public addresses (a private, loopback or link-local one is allowed only where the
 * manifest declares that address itself), and the connection goes to the address that was checked. Bodies are
 * bounded both ways, hop-by-hop headers and cookies dropped both ways, the whole request bounded by the plugin's
 * call deadline. Throws `PluginError`: `capability_denied` (with `capability`: `network.outbound:<scheme>://<host>:<port>`),
 * `address_denied`, `body_too_large`, `rate_limited`, `http_failed` (DNS, connection, TLS, too many redirects, a
 * timeout), each message naming the problem.
 *
 * @example
 * const fetcher = createOutboundHttp({ pluginId: 'hello', outbound: ['api.example.com'], timeoutMs: 5_000 });
 * const answer = await fetcher({ url: 'https://api.example.com/v1', method: 'GET', headers: {} });
 */
export function createOutboundHttp(config: OutboundHttpConfig) {
  const { pluginId } = config;
  const entries = config.outbound.map(parseOutboundEntry);
  const maxConcurrent = config.maxConcurrent ?? 8;
  const perMinute = config.maxPerMinute ?? 120;
  const resolve = config.lookup ?? dnsLookup;
  let inFlight = 0;
  let tokens = perMinute;
  let refilledAt = Date.now();

  const check = (raw: string): URL => {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new PluginError('http_failed', `"${raw.slice(0, 200)}" is not an absolute URL`, { pluginId });
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw deny(
        pluginId,
        `only https (and http where declared) may be fetched, not ${url.protocol}`,
        'network.outbound',
      );
    }
    if (url.username !== '' || url.password !== '') {
      throw deny(
        pluginId,
        'a URL with credentials in it is refused; send an Authorization header',
        'network.outbound',
      );
    }
    const port = url.port === '' ? (url.protocol === 'http:' ? 80 : 443) : Number(url.port);
    const target = `${url.protocol}//${url.hostname}:${port}`;
    if (!matchOutbound(entries, url)) {
      const otherScheme = matchOutbound(
        entries,
        new URL(`${url.protocol === 'http:' ? 'https:' : 'http:'}//${url.host}`),
      );
      throw deny(
        pluginId,
        otherScheme && url.protocol === 'http:'
          ? `${target} is plain http; the manifest declares ${url.hostname} for https only (declare "http://${url.host}" to allow http)`
          : `${target} is not declared in capabilities.network.outbound`,
        `network.outbound:${target}`,
      );
    }
    return url;
  };

  const take = (): void => {
    const now = Date.now();
    tokens = Math.min(perMinute, tokens + ((now - refilledAt) / 60_000) * perMinute);
    refilledAt = now;
    if (inFlight >= maxConcurrent) {
      throw new PluginError('rate_limited', `more than ${maxConcurrent} outbound requests at once`, {
        pluginId,
      });
    }
    if (tokens < 1) {
      throw new PluginError('rate_limited', `more than ${perMinute} outbound requests a minute`, {
        pluginId,
      });
    }
    tokens -= 1;
  };

  /** One hop: the request to a checked URL, the answer read within the limit. */
  const hop = (
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: Buffer | undefined,
    deadline: number,
  ): Promise<{ response: IncomingMessage; body: Buffer }> =>
    new Promise((resolveHop, rejectHop) => {
      let settled = false;
      let request: ClientRequest | undefined;
      const fail = (error: PluginError): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request?.destroy();
        rejectHop(error);
      };
      const remaining = deadline - Date.now();
      const timer = setTimeout(
        () => fail(new PluginError('http_failed', `${url.origin} did not answer in time`, { pluginId })),
        Math.max(remaining, 0),
      );
      // Every address a name resolves to must be public; the socket connects to the address checked here.
      const checkedLookup: LookupFunction = (hostname, options, callback) => {
        resolve(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
          if (error) {
            callback(error, '', 4);
            return;
          }
          const refused = addresses.find((address) => !isPublicAddress(address.address));
          if (refused || addresses.length === 0) {
            const denial = new PluginError(
              'address_denied',
              `${hostname} resolves to ${refused?.address ?? 'no address'}, a private, loopback or link-local address; only a declared literal address may be one`,
              { pluginId },
            );
            fail(denial);
            callback(denial, '', 4);
            return;
          }
          if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
          else callback(null, addresses[0]?.address ?? '', addresses[0]?.family ?? 4);
        });
      };
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      try {
        request = send(url, {
          method,
          headers: {
            ...headers,
            'accept-encoding': 'identity',
            ...(body ? { 'content-length': String(body.length) } : {}),
          },
          agent: false,
          lookup: checkedLookup,
        });
      } catch (error) {
        fail(
          new PluginError('http_failed', `cannot send to ${url.origin}: ${(error as Error).message}`, {
            pluginId,
            cause: error,
          }),
        );
        return;
      }
      request.on('error', (error) => {
        fail(
          PluginError.isInstance(error)
            ? error
            : new PluginError('http_failed', `${url.origin}: ${(error as Error).message}`, {
                pluginId,
                cause: error,
              }),
        );
      });
      request.on('response', (response) => {
        const declared = Number(response.headers['content-length']);
        const tooLarge = () =>
          fail(
            new PluginError(
              'body_too_large',
              `the answer from ${url.origin} is over ${OUTBOUND_RESPONSE_BODY_LIMIT} bytes`,
              { pluginId },
            ),
          );
        if (declared > OUTBOUND_RESPONSE_BODY_LIMIT) {
          tooLarge();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > OUTBOUND_RESPONSE_BODY_LIMIT) tooLarge();
          else chunks.push(chunk);
        });
        response.on('error', (error) =>
          fail(new PluginError('http_failed', `${url.origin}: ${error.message}`, { pluginId, cause: error })),
        );
        response.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolveHop({ response, body: Buffer.concat(chunks) });
        });
      });
      request.end(body);
    });

  return async (input: OutboundRequest): Promise<OutboundResponse> => {
    let url = check(input.url);
    let method = (input.method ?? 'GET').toUpperCase();
    let headers = keptHeaders(input.headers ?? {});
    let body =
      input.body === undefined
        ? undefined
        : Buffer.from(input.body, input.bodyEncoding === 'base64' ? 'base64' : 'utf8');
    if (body && body.length > OUTBOUND_REQUEST_BODY_LIMIT) {
      throw new PluginError(
        'body_too_large',
        `the request body is ${body.length} bytes, over the limit of ${OUTBOUND_REQUEST_BODY_LIMIT}`,
        { pluginId },
      );
    }
    take();
    inFlight++;
    try {
      const timeoutMs = Math.min(input.timeoutMs ?? config.timeoutMs, config.timeoutMs);
      const deadline = Date.now() + timeoutMs;
      for (let redirects = 0; ; redirects++) {
        const { response, body: answer } = await hop(url, method, headers, body, deadline);
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && status !== 304 && location) {
          if (redirects >= OUTBOUND_MAX_REDIRECTS) {
            throw new PluginError(
              'http_failed',
              `more than ${OUTBOUND_MAX_REDIRECTS} redirects (the last to ${location.slice(0, 200)})`,
              { pluginId },
            );
          }
          const next = check(URL.canParse(location, url.href) ? new URL(location, url).href : location);
          // A redirect to another origin does not carry the credentials meant for this one.
          if (next.origin !== url.origin) {
            const { authorization: _dropped, ...rest } = headers;
            headers = rest;
          }
          if (status === 303 || ((status === 301 || status === 302) && method === 'POST')) {
            method = method === 'HEAD' ? 'HEAD' : 'GET';
            body = undefined;
            const { 'content-type': _type, ...rest } = headers;
            headers = rest;
          }
          url = next;
          continue;
        }
        return {
          status,
          headers: keptHeaders(response.headers),
          body: answer.toString('base64'),
          url: url.href,
          redirects,
        };
      }
    } finally {
      inFlight--;
    }
  };
}
