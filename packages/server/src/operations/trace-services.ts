import type { KnowledgeService } from '../knowledge-composition.js';
import type { PlatformComposition } from '../platform-composition.js';
import type { PluginService } from '../plugin-composition.js';
import type { VoiceService } from '../voice-composition.js';
import type { Tracing } from './tracing.js';

const PLATFORM_CALLS = ['send', 'edit', 'delete', 'react', 'unreact'] as const;

/**
 * Spans for the optional services, put on at composition: `transcribe` (provider and model), `knowledge
 * search`, `plugin command` and `platform send`/`edit`/`delete`/`react`/`unreact` (platform name). What they
 * read or write in the store shows up as their children.
 */
export function traceServices(
  tracing: Tracing,
  services: {
    voice: VoiceService | undefined;
    knowledge: KnowledgeService | undefined;
    plugins: PluginService | undefined;
    platforms: PlatformComposition | undefined;
  },
): void {
  const transcriber = services.voice?.transcriber;
  if (transcriber) {
    tracing.traceMethod(transcriber, 'transcribe', 'transcribe', {
      'kaiwa.voice.provider': transcriber.provider,
      'kaiwa.voice.model': transcriber.modelId,
    });
  }
  if (services.knowledge) tracing.traceMethod(services.knowledge.knowledge, 'retrieve', 'knowledge search');
  if (services.plugins) tracing.traceMethod(services.plugins, 'runCommand', 'plugin command');
  for (const [platform, adapter] of services.platforms?.platforms ?? []) {
    for (const call of PLATFORM_CALLS) {
      tracing.traceMethod(adapter, call, `platform ${call}`, { 'kaiwa.platform': platform });
    }
  }
}
