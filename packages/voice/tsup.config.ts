import { packageBuild } from '../../tsup.package.js';

// whisper.cpp runs in a forked child (src/whisper-cpp/whisper-cpp-child.ts), found beside index.js at run time.
export default packageBuild({
  entry: { index: 'src/index.ts', 'whisper-cpp-child': 'src/whisper-cpp/whisper-cpp-child.ts' },
  external: ['@napi-rs/whisper'],
});
