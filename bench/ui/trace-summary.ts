/*
 * What a Chromium trace (browser.startTracing with the v8 CPU profiler category) says about the page's main
 * thread: its busy time by kind of work (script, style, layout, paint, garbage collection), each counted once
 * (self time: an event's time less that of the events inside it), and the functions the sampling profiler saw
 * running most often.
 */

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  cat?: string;
  args?: Record<string, unknown>;
}

interface ProfileNode {
  id: number;
  parent?: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
}

export interface TraceSummary {
  /** From the first to the last event of the renderer's main thread. */
  spanMs: number;
  /** Self time by event name, largest first. */
  work: { name: string; ms: number }[];
  /** Self time by function (sampled), largest first. */
  functions: { name: string; ms: number }[];
}

/** `origin`: the page's (e.g. http://127.0.0.1:1234); its renderer is the one whose events name it most. */
export function summarizeTrace(events: TraceEvent[], origin: string, top = 15): TraceSummary {
  const named = events.filter((event) => event.ph === 'M' && event.name === 'thread_name');
  const mains = named.filter((event) => event.args?.name === 'CrRendererMain');
  const counts = new Map<string, number>();
  for (const event of events) {
    if (!event.args || !JSON.stringify(event.args).includes(origin)) continue;
    counts.set(`${event.pid}:${event.tid}`, (counts.get(`${event.pid}:${event.tid}`) ?? 0) + 1);
  }
  const main = mains
    .map((event) => `${event.pid}:${event.tid}`)
    .sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0))[0];
  const own = events
    .filter((event) => event.ph === 'X' && `${event.pid}:${event.tid}` === main && (event.dur ?? 0) > 0)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
  const self = new Map<string, number>();
  const stack: { name: string; end: number; child: number; dur: number }[] = [];
  const close = (until: number) => {
    while (stack.length > 0 && stack.at(-1)!.end <= until) {
      const done = stack.pop()!;
      self.set(done.name, (self.get(done.name) ?? 0) + done.dur - done.child);
      if (stack.length > 0) stack.at(-1)!.child += done.dur;
    }
  };
  for (const event of own) {
    close(event.ts);
    stack.push({ name: event.name, end: event.ts + event.dur!, child: 0, dur: event.dur! });
  }
  close(Number.POSITIVE_INFINITY);
  const first = own[0]?.ts ?? 0;
  const last = own.reduce((end, event) => Math.max(end, event.ts + event.dur!), first);

  // The sampling profiler's chunks: nodes, and samples with the time since the one before.
  const nodes = new Map<number, ProfileNode>();
  const fnSelf = new Map<string, number>();
  for (const event of events) {
    if (event.name !== 'ProfileChunk' || `${event.pid}:${event.tid}`.split(':')[0] !== main?.split(':')[0])
      continue;
    const data = (event.args?.data ?? {}) as {
      cpuProfile?: { nodes?: ProfileNode[]; samples?: number[] };
      timeDeltas?: number[];
    };
    for (const node of data.cpuProfile?.nodes ?? []) nodes.set(node.id, node);
    const samples = data.cpuProfile?.samples ?? [];
    const deltas = data.timeDeltas ?? [];
    for (const [index, id] of samples.entries()) {
      const frame = nodes.get(id)?.callFrame;
      if (!frame) continue;
      const file = (frame.url ?? '').split('/').at(-1) ?? '';
      const name =
        `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
      // A sample's time is the gap to the next one.
      fnSelf.set(name, (fnSelf.get(name) ?? 0) + (deltas[index + 1] ?? 0));
    }
  }
  const ranked = (map: Map<string, number>, divisor: number) =>
    [...map.entries()]
      .map(([name, value]) => ({ name, ms: value / divisor }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top);
  return {
    spanMs: (last - first) / 1000,
    work: ranked(self, 1000),
    functions: ranked(
      new Map([...fnSelf].filter(([name]) => !name.startsWith('(idle)') && !name.startsWith('(program)'))),
      1000,
    ),
  };
}
