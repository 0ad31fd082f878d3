import { packageBuild } from '../../tsup.package.js';

export default packageBuild({
  // Optional peers are loaded only by the factory that needs them.
  external: ['openai', '@huggingface/transformers', 'node-llama-cpp'],
});
