import { describe, expect, it } from 'vitest';
import {
  computePeaks,
  describeDuration,
  describeMicrophoneError,
  formatDuration,
  levelOf,
  pickRecordingType,
  recordingExtension,
  recordingFileName,
  speakableText,
} from './voice-recording';

describe('recording format', () => {
  it('prefers Opus in WebM, then MP4 (Safari), else lets the browser choose', () => {
    expect(pickRecordingType(() => true)).toBe('audio/webm;codecs=opus');
    expect(pickRecordingType((type) => type.startsWith('audio/mp4'))).toBe('audio/mp4;codecs=mp4a.40.2');
    expect(pickRecordingType((type) => type === 'audio/mp4')).toBe('audio/mp4');
    expect(pickRecordingType(() => false)).toBe('');
  });

  it('names the file after the container and the time', () => {
    expect(recordingExtension('audio/webm;codecs=opus')).toBe('webm');
    expect(recordingExtension('audio/mp4;codecs=mp4a.40.2')).toBe('m4a');
    expect(recordingExtension('audio/ogg; codecs=opus')).toBe('ogg');
    expect(recordingExtension('')).toBe('webm');
    expect(recordingFileName('audio/mp4', new Date(2026, 11, 6, 7, 8, 9))).toBe(
      'voice-message-2026-12-06-070809.m4a',
    );
  });
});

describe('durations', () => {
  it.each([
    [0, '0:00'],
    [7.9, '0:07'],
    [65, '1:05'],
    [750, '12:30'],
    [3723, '1:02:03'],
    [Number.NaN, '0:00'],
    [Number.POSITIVE_INFINITY, '0:00'],
    [-3, '0:00'],
  ])('%s s reads %s', (seconds, clock) => {
    expect(formatDuration(seconds)).toBe(clock);
  });

  it('says durations in words', () => {
    expect(describeDuration(1)).toBe('1 second');
    expect(describeDuration(7.4)).toBe('7 seconds');
    expect(describeDuration(60)).toBe('1 minute');
    expect(describeDuration(125)).toBe('2 minutes 5 seconds');
    expect(describeDuration(Number.NaN)).toBe('0 seconds');
  });
});

describe('waveform peaks', () => {
  it('takes the loudest sample of each slice over every channel, relative to the loudest slice', () => {
    const left = [0, 0.1, -0.5, 0.2, 0, 0, 0.25, -0.1];
    const right = [0, 0, 0, 0, 0, 0.05, 0, 0];
    expect(computePeaks([left, right], 4)).toEqual([0.2, 1, 0.1, 0.5]);
  });

  it('copes with silence, short audio and no audio', () => {
    expect(computePeaks([new Float32Array(8)], 4)).toEqual([0, 0, 0, 0]);
    expect(computePeaks([[0.5, -1]], 48)).toEqual([0.5, 1]);
    expect(computePeaks([], 48)).toEqual([]);
    expect(computePeaks([new Float32Array(0)], 48)).toEqual([]);
  });

  it('keeps every slice of a long recording (no sample dropped at slice edges)', () => {
    const samples = new Float32Array(44_100 * 3);
    samples[samples.length - 1] = 0.9;
    const peaks = computePeaks([samples], 48);
    expect(peaks).toHaveLength(48);
    expect(peaks[47]).toBe(1);
    expect(peaks.slice(0, 47).every((peak) => peak === 0)).toBe(true);
  });
});

describe('input level', () => {
  it('is 0 for silence and grows with loudness up to 1', () => {
    expect(levelOf([])).toBe(0);
    expect(levelOf(new Float32Array(512))).toBe(0);
    const quiet = levelOf(new Float32Array(512).fill(0.05));
    const loud = levelOf(new Float32Array(512).fill(0.2));
    expect(quiet).toBeCloseTo(0.2);
    expect(loud).toBeGreaterThan(quiet);
    expect(levelOf(new Float32Array(512).fill(1))).toBe(1);
  });
});

describe('microphone errors', () => {
  it('says what to do for each DOMException name', () => {
    expect(describeMicrophoneError({ name: 'NotAllowedError' })).toMatch(/may not use the microphone/);
    expect(describeMicrophoneError({ name: 'NotFoundError' })).toMatch(/No microphone was found/);
    expect(describeMicrophoneError({ name: 'NotReadableError' })).toMatch(/another program/);
    expect(describeMicrophoneError({ name: 'InsecureContextError' })).toMatch(/HTTPS/);
    expect(describeMicrophoneError(new Error('boom'))).toBe('The recording failed: boom');
  });
});

describe('text read aloud', () => {
  it('drops markdown marks, code blocks and link targets', () => {
    expect(
      speakableText(
        '## Plan\n- **ship** the _build_ on [staging](https://x.test)\n```\nnpm test\n```\nsee `docs`',
      ),
    ).toBe('Plan ship the build on staging see docs');
    expect(speakableText('look at https://example.com now')).toBe('look at now');
    expect(speakableText('2 * 3 * 4 = 24')).toBe('2 * 3 * 4 = 24');
  });

  it('cuts long text at a word', () => {
    expect(speakableText('one two three four', 12)).toBe('one two');
  });
});
