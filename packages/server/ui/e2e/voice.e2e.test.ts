import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KaiwaRestClient } from '@kaiwa/client';
import type { Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type TestServer as ModelServer,
  startTestServer as startModelServer,
} from '../../../llm/src/test-support/start-test-server.js';
import { fliteWav, skipWithout } from '../../../voice/src/test-support/voice-engines.js';
import { ARTIFACTS, type BrowserTestServer, startBrowserTestServer } from './browser-test-server.js';
import { chromiumSkipReason } from './chromium.js';

// Functions passed to page.evaluate run in the browser; this test program has no DOM types, so the
// browser globals they use are declared loosely here.
// biome-ignore lint/suspicious/noExplicitAny: typed by the page, not by this program.
type InPage = any;
declare const document: InPage;
declare const window: InPage;
declare const MutationObserver: InPage;

/*
 * Voice messages in a real browser on the real engines: Chromium's fake microphone plays a sentence flite
 * spoke; it is recorded with a click (desktop) and with press and hold (phone), sent, shown as a player with
 * its duration and waveform, "Transcribing…" while pocketsphinx works, then the transcript; "Read aloud" gets
 * audio from espeak-ng; the room's transcription language is set in the room details. Screenshots at desktop
 * and phone sizes go to test-artifacts/ for a person to look at.
 */

const PASSWORD = 'correct horse battery staple';
const FOX = 'the quick brown fox jumps over the lazy dog';
const skipReason =
  chromiumSkipReason ?? skipWithout('flite', 'pocketsphinx_continuous', 'ffmpeg', 'espeak-ng');

if (skipReason) {
  console.info(`voice browser test skipped: ${skipReason}`);
  describe.skip('voice messages in a browser', () => {
    it('is skipped', () => {});
  });
} else {
  describe('voice messages in a browser', () => {
    let app: BrowserTestServer;
    let modelServer: ModelServer;

    beforeAll(async () => {
      // The assistant (on @kaiwa/llm's OpenAI-compatible test server) answers voice messages addressed to it.
      modelServer = await startModelServer();
      app = await startBrowserTestServer({
        name: 'voice',
        env: {
          KAIWA_TRANSCRIBER: 'pocketsphinx',
          KAIWA_SYNTHESIZER: 'espeak-ng',
          KAIWA_LLM_BASE_URL: modelServer.baseURL,
          KAIWA_LLM_MODEL: 'echo',
        },
        chromiumArgs: (workDirectory) => {
          // The fake microphone loops this file (Chromium reads 16-bit PCM WAV; flite writes that).
          const speech = join(workDirectory, 'fox.wav');
          writeFileSync(speech, fliteWav(FOX));
          return [
            '--use-fake-ui-for-media-stream',
            '--use-fake-device-for-media-stream',
            `--use-file-for-fake-audio-capture=${speech}`,
            '--autoplay-policy=no-user-gesture-required',
          ];
        },
        password: PASSWORD,
        timeout: 15_000,
        consoleErrors: true,
      });
    });
    afterEach((context) => app.screenshotFailures(context));
    afterAll(async () => {
      await app?.close();
      await modelServer?.stop();
    });

    /** Notes in the page whether "Transcribing…" was ever shown (it may pass quickly). */
    async function watchForPending(page: Page): Promise<void> {
      await page.evaluate(() => {
        const seen = window as unknown as { kaiwaPendingSeen?: boolean };
        new MutationObserver(() => {
          if (document.querySelector('.voice-transcript.pending')) seen.kaiwaPendingSeen = true;
        }).observe(document.body, { childList: true, subtree: true });
      });
    }

    const voiceMessages = (page: Page) =>
      page
        .getByRole('log', { name: /^Messages in/ })
        .locator('li.message:not(.pending)')
        .filter({
          has: page.locator('.voice-player'),
        });

    function recognised(transcript: string): string[] {
      const heard = new Set(transcript.toLowerCase().split(/[^a-z']+/));
      return FOX.split(' ').filter((word, index, all) => all.indexOf(word) === index && heard.has(word));
    }

    it('records, sends, plays, transcribes and reads aloud', { timeout: 180_000 }, async () => {
      await app.server.accounts.createAccount({
        username: 'ada',
        displayName: 'Ada Lovelace',
        role: 'member',
        password: PASSWORD,
      });
      const ada = new KaiwaRestClient({ baseUrl: app.baseUrl });
      await ada.login('ada', PASSWORD);
      const room = await ada.createRoom({ kind: 'channel', name: 'standup', topic: 'Daily voice notes' });
      await ada.sendMessage(room.id, { text: 'Morning! Voice notes below.' });

      // Desktop: click to record, watch the timer, send.
      const page = await app.open({
        viewport: { width: 1280, height: 800 },
        permissions: ['microphone'],
        path: `/rooms/${room.id}`,
        signInAs: 'ada',
      });
      await page.getByRole('heading', { name: 'standup', level: 1 }).waitFor();
      await watchForPending(page);
      await page.getByRole('button', { name: /^Record a voice message/ }).click();
      const recordingBar = page.getByRole('group', { name: 'Recording a voice message' });
      await recordingBar.getByRole('timer').filter({ hasText: '0:02' }).waitFor();
      await page.screenshot({ path: join(ARTIFACTS, 'voice-recording-desktop.png') });
      await recordingBar.getByRole('timer').filter({ hasText: '0:03' }).waitFor();
      await recordingBar.getByRole('button', { name: 'Send voice message' }).click();
      await recordingBar.waitFor({ state: 'detached' });

      // The player, with the duration decoded from the recording and a waveform.
      const voice = voiceMessages(page).first();
      await voice.waitFor();
      await expect
        .poll(async () => voice.locator('.voice-duration').textContent(), { timeout: 15_000 })
        .toMatch(/^0:0[3-5]$/);
      expect(await voice.locator('.voice-waveform rect').count()).toBe(48);
      const play = voice.getByRole('button', { name: /^Play voice message voice-message-.*\.webm$/ });
      await play.waitFor();

      // The transcript: pending first, then words of the sentence.
      const transcript = voice.locator('.voice-transcript-text');
      await transcript.waitFor({ timeout: 60_000 });
      expect(
        await page.evaluate(() => (window as unknown as { kaiwaPendingSeen?: boolean }).kaiwaPendingSeen),
      ).toBe(true);
      const text = (await transcript.textContent()) ?? '';
      const words = recognised(text);
      console.info(`[voice e2e] transcript: ${JSON.stringify(text)}; recognised ${words.length}/9: ${words}`);
      expect(words.length).toBeGreaterThanOrEqual(3);

      // Plays, moves, pauses; the slider says where it is and moves by keys.
      await play.click();
      const pause = voice.getByRole('button', { name: /^Pause voice message/ });
      await pause.waitFor();
      await expect.poll(async () => voice.locator('.voice-waveform rect.played').count()).toBeGreaterThan(0);
      await pause.click();
      await play.waitFor();
      const slider = voice.getByRole('slider', { name: /^Position in voice-message-/ });
      await slider.focus();
      await page.keyboard.press('Home');
      await expect
        .poll(async () => slider.getAttribute('aria-valuetext'))
        .toMatch(/^0 seconds of [3-5] seconds$/);
      await page.keyboard.press('ArrowRight');
      await expect.poll(async () => slider.getAttribute('aria-valuetext')).toMatch(/^[3-5] seconds of/);

      // Read aloud: espeak-ng's WAV from POST /speech.
      await voice.hover();
      const speech = page.waitForResponse((response) => response.url().endsWith('/api/v1/speech'));
      await voice.getByRole('button', { name: 'Read aloud' }).click();
      const answer = await speech;
      expect(answer.status()).toBe(200);
      expect(answer.headers()['content-type']).toMatch(/^audio\/wav/);
      expect(Number(answer.headers()['content-length'] ?? '1')).toBeGreaterThan(44);
      // Speaking: the button stops it.
      await voice.getByRole('button', { name: 'Stop reading' }).click();
      await voice.getByRole('button', { name: 'Read aloud' }).waitFor();

      // The room's transcription language, for its owner.
      await page.getByRole('button', { name: 'Room details' }).click();
      const language = page.getByLabel('Transcription language');
      await language.selectOption('en');
      await expect.poll(async () => (await ada.roomVoiceSettings(room.id)).language).toBe('en');
      // Spoken answers of the assistant: a switch saved with the language (the PUT replaces both).
      await page.getByRole('checkbox', { name: /^Speak assistant replies/ }).check();
      await expect
        .poll(async () => ada.roomVoiceSettings(room.id))
        .toEqual({ language: 'en', speakReplies: true });
      await page.getByRole('button', { name: 'Close room details' }).click();

      await voice.scrollIntoViewIfNeeded();
      await slider.fill('1.5');
      await expect.poll(async () => slider.getAttribute('aria-valuetext')).toMatch(/^2 seconds of/);
      await page.mouse.move(0, 0);
      await page.screenshot({ path: join(ARTIFACTS, 'voice-desktop.png') });

      // Phone: press and hold the microphone, release to send.
      const phone = await app.open({
        viewport: { width: 390, height: 844 },
        hasTouch: true,
        isMobile: true,
        permissions: ['microphone'],
        path: `/rooms/${room.id}`,
        signInAs: 'ada',
      });
      await phone.getByRole('heading', { name: 'standup', level: 1 }).waitFor();
      const microphone = phone.getByRole('button', { name: /^Record a voice message/ });
      const box = (await microphone.boundingBox())!;
      const at = { clientX: box.x + box.width / 2, clientY: box.y + box.height / 2 };
      const pointer = { pointerType: 'touch', pointerId: 7, isPrimary: true, bubbles: true, ...at };
      await microphone.dispatchEvent('pointerdown', pointer);
      const phoneBar = phone.getByRole('group', { name: 'Recording a voice message' });
      await phoneBar.getByText('Release to send').waitFor();
      await phoneBar.getByRole('timer').filter({ hasText: '0:02' }).waitFor();
      await phone.screenshot({ path: join(ARTIFACTS, 'voice-recording-phone.png') });
      await microphone.dispatchEvent('pointerup', pointer);
      await microphone.dispatchEvent('click', { bubbles: true });
      await expect.poll(async () => voiceMessages(phone).count(), { timeout: 15_000 }).toBe(2);
      await voiceMessages(phone).nth(1).locator('.voice-transcript-text').waitFor({ timeout: 60_000 });
      await voiceMessages(phone).nth(1).scrollIntoViewIfNeeded();
      // A tap beside the messages, and the emulated mouse off the list (it stayed where "Sign in" was, which
      // is where the new message now is, and hovering shows a message's actions).
      await phone.getByText('This is the start of').tap();
      await phone.mouse.move(1, 1);
      await phone.screenshot({ path: join(ARTIFACTS, 'voice-phone.png') });

      // Sliding away before the release throws the recording away.
      await microphone.dispatchEvent('pointerdown', pointer);
      await phoneBar.getByRole('timer').filter({ hasText: '0:01' }).waitFor();
      await microphone.dispatchEvent('pointermove', { ...pointer, clientY: at.clientY - 200 });
      await phoneBar.getByText('Release to cancel').waitFor();
      await microphone.dispatchEvent('pointerup', { ...pointer, clientY: at.clientY - 200 });
      await phoneBar.waitFor({ state: 'detached' });
      await phone.waitForTimeout(1_000);
      expect(await voiceMessages(phone).count()).toBe(2);

      // A voice message to the assistant: the room speaks its replies (set above), so the text answer gets
      // the spoken answer as an attachment, played by the same player.
      const question = await ada.upload(
        room.id,
        new Blob([readFileSync(join(app.workDirectory, 'fox.wav'))], { type: 'audio/wav' }),
        'question.wav',
      );
      await ada.sendMessage(room.id, { text: '@assistant', attachmentIds: [question.id] });
      const spokenAnswer = page
        .getByRole('log', { name: /^Messages in/ })
        .locator('li.message')
        .filter({ hasText: 'Hello from Kaiwa' })
        .filter({ has: page.locator('.voice-player') });
      await spokenAnswer.waitFor({ timeout: 90_000 });
      await spokenAnswer.scrollIntoViewIfNeeded();
      await spokenAnswer.getByRole('button', { name: /^Play voice message spoken-reply\.ogg$/ }).click();
      await spokenAnswer.getByRole('button', { name: /^Pause voice message spoken-reply/ }).waitFor();
      await expect
        .poll(async () => spokenAnswer.locator('.voice-waveform rect.played').count())
        .toBeGreaterThan(0);
      await page.screenshot({ path: join(ARTIFACTS, 'voice-assistant-spoken-reply.png') });

      expect(app.pageErrors).toEqual([]);
    });
  });
}
