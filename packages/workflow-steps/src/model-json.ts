/**
 * Finds the JSON value in a model's reply: the whole reply, the inside of a ```json fence, or the first
 * balanced `{…}` / `[…]`. Returns undefined when there is none that parses.
 */
export function parseModelJson(reply: string): { value: unknown } | undefined {
  const candidates: string[] = [reply.trim()];
  const fence = /```(?:json)?\s*\n?([\s\S]*?)```/i.exec(reply);
  if (fence?.[1]) candidates.push(fence[1].trim());
  const balanced = firstBalanced(reply);
  if (balanced) candidates.push(balanced);
  for (const candidate of candidates) {
    try {
      return { value: JSON.parse(candidate) };
    } catch {
      // Try the next way of finding it.
    }
  }
  return undefined;
}

function firstBalanced(text: string): string | undefined {
  const start = text.search(/[{[]/);
  if (start === -1) return undefined;
  const stack: string[] = [];
  let inString = false;
  for (let index = start; index < text.length; index += 1) {
    const char = text[index];
    if (inString) {
      if (char === '\\') index += 1;
      else if (char === '"') inString = false;
      continue;
    }
    if (char === '"') inString = true;
    else if (char === '{') stack.push('}');
    else if (char === '[') stack.push(']');
    else if (char === '}' || char === ']') {
      if (stack.pop() !== char) return undefined;
      if (stack.length === 0) return text.slice(start, index + 1);
    }
  }
  return undefined;
}
