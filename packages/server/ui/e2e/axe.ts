import axeCore from 'axe-core';
import type { Page } from 'playwright-core';

/** The one browser global the code evaluated in the page uses (the root tsconfig has no DOM library). */
declare const document: unknown;

interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: { target: string[] }[];
}

/** axe-core run in the page: its serious and critical violations, each as "rule: targets". */
export async function seriousViolations(page: Page): Promise<string[]> {
  await page.evaluate(axeCore.source);
  return page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: { run: (context: unknown) => Promise<{ violations: AxeViolation[] }> };
      }
    ).axe;
    const { violations } = await axe.run(document);
    return violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map(
        (violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`,
      );
  });
}
