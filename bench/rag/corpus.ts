/* The benchmark's vectors, shared by run.ts and sqlite-quantized.ts. */

function seededNormal(seed: number): () => number {
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * Clustered unit vectors with local structure, as real embeddings have: 200 topics, 10 passages per
 * sub-topic around each, each passage its sub-topic plus a little noise. Queries are drawn the same way
 * (another seed), near some sub-topic. Without the sub-topics, points within a topic are uniform noise and
 * no approximate index can tell their neighbours apart.
 */
export function clustered(count: number, seed: number, dimensions: number): Float32Array[] {
  const random = seededNormal(seed);
  const structure = seededNormal(7); // the same topics for the corpus and the queries
  const normalize = (vector: Float32Array) => {
    let sum = 0;
    for (const value of vector) sum += value * value;
    const norm = Math.sqrt(sum) || 1;
    return vector.map((value) => value / norm);
  };
  const noise = (source: () => number, scale: number) => (value: number) =>
    value + (scale * source()) / Math.sqrt(dimensions);
  const topics = Array.from({ length: 200 }, () =>
    normalize(Float32Array.from({ length: dimensions }, structure)),
  );
  const subtopics = Array.from({ length: 10_000 }, (_, index) =>
    normalize((topics[index % 200] as Float32Array).map(noise(structure, 0.8))),
  );
  return Array.from({ length: count }, (_, index) =>
    normalize((subtopics[(index * 7919) % 10_000] as Float32Array).map(noise(random, 0.3))),
  );
}
