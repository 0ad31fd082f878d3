import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

/*
 * node --import tsx bench/realtime/profile-summary.ts <file.cpuprofile> [--top 30]
 *
 * Summarises a V8 CPU profile (as written by `npm run bench:realtime -- --profile`): self time by
 * package or source area, and the functions with the most self and inclusive time.
 */

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '30' } },
});
const file = positionals[0];
if (!file) {
  console.error('usage: node --import tsx bench/realtime/profile-summary.ts <file.cpuprofile> [--top 30]');
  process.exit(2);
}
const top = Number(values.top);
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

const nodes = new Map<number, ProfileNode>();
const parents = new Map<number, number>();
for (const node of profile.nodes) {
  nodes.set(node.id, node);
  for (const child of node.children ?? []) parents.set(child, node.id);
}

/** Where code comes from: a package under node_modules, a Kaiwa source area, node itself, or V8. */
function areaOf(frame: CallFrame): string {
  const url = frame.url;
  if (url === '') {
    if (frame.functionName.startsWith('(')) return frame.functionName;
    return '(native)';
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const packages = url.indexOf('/packages/');
  if (packages !== -1) {
    const parts = url.slice(packages + 1).split('/');
    if (parts[1] === 'adapters') return parts.slice(0, 3).join('/');
    if (parts[1] === 'server' && parts[3] === 'realtime') return 'packages/server/src/realtime';
    return parts.slice(0, 2).join('/');
  }
  return url.replace(/^file:\/\//, '');
}

function nameOf(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|packages)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${url}:${frame.lineNumber + 1}`;
}

const selfByArea = new Map<string, number>();
const selfByFunction = new Map<string, number>();
const inclusiveByFunction = new Map<string, number>();
let total = 0;
let idle = 0;
for (let index = 0; index < profile.samples.length; index += 1) {
  const delta = profile.timeDeltas[index] ?? 0;
  const node = nodes.get(profile.samples[index]!);
  if (!node) continue;
  total += delta;
  if (node.callFrame.functionName === '(idle)') {
    idle += delta;
    continue;
  }
  const area = areaOf(node.callFrame);
  selfByArea.set(area, (selfByArea.get(area) ?? 0) + delta);
  const name = nameOf(node.callFrame);
  selfByFunction.set(name, (selfByFunction.get(name) ?? 0) + delta);
  const seen = new Set<string>();
  for (let id: number | undefined = node.id; id !== undefined; id = parents.get(id)) {
    const frame = nodes.get(id)!.callFrame;
    if (frame.functionName === '(root)') continue;
    const each = nameOf(frame);
    if (seen.has(each)) continue;
    seen.add(each);
    inclusiveByFunction.set(each, (inclusiveByFunction.get(each) ?? 0) + delta);
  }
}

const busy = total - idle;
const share = (value: number): string => `${((value / busy) * 100).toFixed(1).padStart(5)} %`;
const print = (title: string, entries: Map<string, number>, count: number): void => {
  console.log(`\n${title}`);
  for (const [name, value] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, count)) {
    console.log(`  ${share(value)}  ${(value / 1000).toFixed(0).padStart(7)} ms  ${name}`);
  }
};
console.log(
  `${file}: ${(total / 1e6).toFixed(1)} s sampled, ${(busy / 1e6).toFixed(1)} s busy ` +
    `(${((busy / total) * 100).toFixed(0)} %); shares below are of the busy time`,
);
print('self time by area', selfByArea, top);
print('self time by function', selfByFunction, top);
print('inclusive time by function', inclusiveByFunction, top);
