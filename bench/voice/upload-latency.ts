import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { buildServer } from '../../packages/server/src/app.js';
import { loadConfig } from '../../packages/server/src/config.js';
import { TestClient } from '../../packages/server/src/realtime/test-support.js';
import { chromiumSkipReason, launchChromium } from '../../packages/server/ui/e2e/chromium.js';
import { decodeAudio, encodeOpus, toMono, trimSilence } from '../../packages/voice/src/index.js';

/*
 * Transcription latency of a voice message from upload to transcript shown, on a real server: the server
 * listens on 127.0.0.1 with the transcriber under test (KAIWA_TRANSCRIBER), a client signs in, subscribes to
 * a channel over WebSocket, uploads the recording through `POST /api/v1/files` (multipart over HTTP, as the web
 * client does), sends it as a message, and waits for the `message.updated` frame whose transcript is `done`:
 * the moment a client can show the transcript. Where Chromium is installed (KAIWA_CHROMIUM), the web client,
 * signed in as the same user and showing the room, watches too: its column is the moment the transcript is in
 * the page (a MutationObserver in the page reads the wall clock; the upload's start is read on the same clock).
 * One server per transcriber; each round a new voice message in the same room, after one warm-up round.
 *
 * The recording: four Harvard sentences spoken by flite (kal16) with 0.8 s pauses, padded with silence to
 * exactly 10 s, encoded as Opus in WebM (what Chromium's MediaRecorder uploads). Transcribers: pocketsphinx,
 * and whisper.cpp in its child process on the tiny rigged model the voice tests write (its words mean
 * nothing: that row measures the server path and the child, not Whisper on a real model).
 *
 * `npm run bench:voice` runs it last; alone: node --import tsx bench/voice/upload-latency.ts [--rounds N]
 */

interface LatencyTarget {
  /** The row's name. */
  label: string;
  /** KAIWA_TRANSCRIBER and its companions. */
  env: Record<string, string>;
}

interface LatencyResult {
  label: string;
  /** Upload to transcript frame, per round, ms. */
  total: number[];
  /** Of which the upload and the send (until the send's response), per round, ms. */
  uploadAndSend: number[];
  /** Upload to the transcript in the web client's page (Chromium), per round, ms; empty without a browser. */
  inBrowser: number[];
  /** The transcript's text (or failure) in the last round. */
  lastTranscript: string;
}

interface Recording {
  bytes: Uint8Array;
  mediaType: string;
  name: string;
}

interface Watcher {
  browser: Browser;
  uiDir: string;
}

const PASSWORD = 'bench-password-1';

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

/** Resolves with the page's wall clock (`Date.now()`) when the message's transcript (or failure) is shown. */
function transcriptShown(page: Page, messageId: string): Promise<number> {
  // A string, as bench/ui does: tsx would wrap a function's inner functions in a helper the page lacks.
  const selector = `[data-message-id="${messageId}"] :is(.voice-transcript.done, .voice-transcript.muted, .voice-transcript.failed)`;
  return page.evaluate<number>(`new Promise((resolve) => {
    const check = () => {
      if (!document.querySelector(${JSON.stringify(selector)})) return false;
      resolve(Date.now());
      return true;
    };
    if (check()) return;
    const observer = new MutationObserver(() => { if (check()) observer.disconnect(); });
    observer.observe(document.body, { childList: true, subtree: true, attributes: true });
  })`);
}

/** `rounds` voice messages (plus one warm-up) against a server with the target's transcriber. */
async function measureOne(
  recording: Recording,
  target: LatencyTarget,
  rounds: number,
  watcher: Watcher | undefined,
): Promise<LatencyResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'kaiwa-bench-voice-latency-'));
  const config = loadConfig({
    env: {
      HOST: '127.0.0.1',
      PORT: '0',
      KAIWA_DATA_DIR: dataDir,
      LOG_LEVEL: 'error',
      NODE_ENV: 'test',
      KAIWA_DEFAULT_CHANNELS: 'none',
      ...(watcher ? { KAIWA_UI_DIR: watcher.uiDir } : {}),
      ...target.env,
    },
  });
  const server = await buildServer(config, { announce: () => {} });
  try {
    const base = await server.listen();
    await server.accounts.createAccount({ username: 'speaker', role: 'member', password: PASSWORD });
    const { accessToken: token } = await server.accounts.login('speaker', PASSWORD);
    const api = async (path: string, init: RequestInit = {}) => {
      const response = await fetch(`${base}/api/v1${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<Record<string, unknown>>;
    };
    const json = (body: unknown): RequestInit => ({
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const room = await api('/rooms', json({ kind: 'channel', name: 'voice-latency' }));
    const roomId = room.id as string;
    const client = await TestClient.as(`${base.replace('http', 'ws')}/ws`, token, { presence: false });
    await client.request({ type: 'subscribe', roomId, lastSeq: 0 });

    // The web client, signed in and showing the room, watches the same messages.
    const context = await watcher?.browser.newContext({ viewport: { width: 1280, height: 800 } });
    let page: Page | undefined;
    if (context) {
      page = await context.newPage();
      page.setDefaultTimeout(60_000);
      await page.goto(base);
      await page.getByLabel('Username').fill('speaker');
      await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('navigation', { name: 'Rooms' }).waitFor();
      await page.goto(`${base}/rooms/${roomId}`);
      await page.getByRole('heading', { name: 'voice-latency', level: 1 }).waitFor();
    }

    const result: LatencyResult = {
      label: target.label,
      total: [],
      uploadAndSend: [],
      inBrowser: [],
      lastTranscript: '',
    };
    for (let round = 0; round <= rounds; round++) {
      const from = client.frames.length;
      const startedAt = Date.now();
      const started = performance.now();
      const form = new FormData();
      form.append('roomId', roomId);
      form.append('file', new Blob([recording.bytes], { type: recording.mediaType }), recording.name);
      const file = await api('/files', { method: 'POST', body: form });
      const message = await api(
        `/rooms/${roomId}/messages`,
        json({ text: 'Voice message (0:10)', attachmentIds: [file.id] }),
      );
      const sent = performance.now();
      const shownInPage = page ? transcriptShown(page, String(message.id)) : undefined;
      const frame = await client.waitFor(
        (each) => {
          if (each.type !== 'message.updated') return false;
          const updated = (each.payload as { message?: { id: string; metadata: Record<string, unknown> } })
            .message;
          const status = (updated?.metadata.transcript as { status?: string } | undefined)?.status;
          return updated?.id === message.id && (status === 'done' || status === 'failed');
        },
        { from, timeoutMs: 300_000 },
      );
      const shown = performance.now();
      const pageMs = shownInPage ? (await shownInPage) - startedAt : undefined;
      const transcript = (frame.payload as { message: { metadata: { transcript: Record<string, unknown> } } })
        .message.metadata.transcript;
      result.lastTranscript =
        transcript.status === 'done' ? String(transcript.text) : `failed: ${String(transcript.error)}`;
      // Round 0 warms the transcriber up (whisper.cpp's child loads its model on first use).
      if (round > 0) {
        result.total.push(shown - started);
        result.uploadAndSend.push(sent - started);
        if (pageMs !== undefined) result.inBrowser.push(pageMs);
      }
      const inPage = pageMs === undefined ? '' : `, in Chromium ${pageMs.toFixed(0)} ms`;
      console.error(
        `${target.label} round ${round}${round === 0 ? ' (warm-up)' : ''}: ${(shown - started).toFixed(0)} ms (upload+send ${(sent - started).toFixed(0)} ms${inPage}) ${transcript.status}`,
      );
    }
    await context?.close();
    await client.close();
    return result;
  } finally {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const HARVARD = [
  'The birch canoe slid on the smooth planks.',
  'Glue the sheet to the dark blue background.',
  'It is easy to tell the depth of a well.',
  'These days a chicken leg is a rare dish.',
];

/** Four flite sentences with 0.8 s pauses, padded with silence to exactly `seconds`, as Opus in WebM. */
async function spokenRecording(seconds = 10): Promise<Recording> {
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-bench-voice-latency-'));
  try {
    const total = seconds * 16_000;
    const samples = new Float32Array(total);
    let at = 12_800;
    for (const sentence of HARVARD) {
      const file = join(folder, 'sentence.wav');
      execFileSync('flite', ['-voice', 'kal16', '-t', sentence, '-o', file]);
      const decoded = toMono(await decodeAudio(readFileSync(file)));
      const clip = trimSilence(decoded, { paddingSeconds: 0 }).audio.samples;
      if (at + clip.length > total) break;
      samples.set(clip, at);
      at += clip.length + 12_800;
    }
    const { bytes, mediaType } = await encodeOpus({ sampleRate: 16_000, samples }, { container: 'webm' });
    return { bytes, mediaType, name: 'voice-message.webm' };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

/** The markdown table of the results. */
function latencyTable(results: LatencyResult[], seconds: number): string[] {
  const both = (values: number[]) =>
    values.length === 0 ? 'not measured' : `${median(values).toFixed(0)} / ${Math.max(...values).toFixed(0)}`;
  return [
    `| transcriber (${seconds.toFixed(0)} s voice message) | runs | upload + send, median ms | upload → transcript frame (WebSocket), median / max ms | upload → transcript shown in Chromium, median / max ms |`,
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.map(
      (result) =>
        `| ${result.label} | ${result.total.length} | ${median(result.uploadAndSend).toFixed(0)} | ${both(result.total)} | ${both(result.inBrowser)} |`,
    ),
  ];
}

/**
 * Both transcribers where they run here, each watched over WebSocket and, where Chromium is installed, by the
 * web client in Chromium; prints and returns the markdown table.
 */
export async function runUploadLatency(rounds: number): Promise<string[]> {
  const recording = await spokenRecording(10);
  const targets: LatencyTarget[] = [{ label: 'pocketsphinx', env: { KAIWA_TRANSCRIBER: 'pocketsphinx' } }];
  const folder = mkdtempSync(join(tmpdir(), 'kaiwa-bench-voice-latency-work-'));
  let watcher: Watcher | undefined;
  try {
    try {
      createRequire(import.meta.url)('@napi-rs/whisper');
      const modelPath = join(folder, 'ggml-tiny-rigged.bin');
      const generator = fileURLToPath(
        new URL(
          '../../packages/voice/src/whisper-cpp/test-support/write-tiny-ggml-whisper.py',
          import.meta.url,
        ),
      );
      execFileSync('python3', [generator, modelPath]);
      targets.push({
        label: 'whisper.cpp child, tiny rigged model',
        env: { KAIWA_TRANSCRIBER: 'whisper.cpp', KAIWA_TRANSCRIBER_MODEL: modelPath },
      });
    } catch (error) {
      console.error(`upload latency: whisper.cpp skipped (${String(error).split('\n')[0]})`);
    }
    if (chromiumSkipReason) console.error(`upload latency: not in a browser (${chromiumSkipReason})`);
    else {
      const uiDir = join(folder, 'ui');
      const build = fileURLToPath(new URL('../../packages/server/ui/build.mjs', import.meta.url));
      execFileSync(process.execPath, [build, '--outdir', uiDir], { stdio: 'pipe' });
      watcher = { browser: await launchChromium(), uiDir };
    }
    const load = loadavg()
      .map((value) => value.toFixed(2))
      .join(' ');
    const results: LatencyResult[] = [];
    for (const target of targets) results.push(await measureOne(recording, target, rounds, watcher));
    const lines = [
      `Upload → transcript, ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), load average at start ${load}, ${rounds} runs after a warm-up`,
      '',
      ...latencyTable(results, 10),
      '',
      ...results.map((result) => `${result.label} heard: "${result.lastTranscript}"`),
    ];
    console.log(lines.join('\n'));
    return lines;
  } finally {
    await watcher?.browser.close();
    rmSync(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { values } = parseArgs({ options: { rounds: { type: 'string', default: '3' } } });
  await runUploadLatency(Math.max(1, Number(values.rounds)));
}
