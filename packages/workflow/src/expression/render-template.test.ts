import { describe, expect, it } from 'vitest';
import { ExpressionError } from './expression-error.js';
import { expressionReferences, renderTemplate, templateReferences } from './render-template.js';

const scope = {
  trigger: { message: { text: 'hello', author: 'ana' }, count: 3, flag: true, none: null },
  steps: { extract: { amount: 42.5, date: '2026-11-25', lines: [{ sku: 'A' }] } },
  run: { id: 'run-1', workflowId: 'invoice' },
};

describe('renderTemplate', () => {
  it('returns the raw value for a string that is one expression', () => {
    expect(renderTemplate('{{ steps.extract.amount }}', scope)).toBe(42.5);
    expect(renderTemplate('  {{steps.extract}}  ', scope)).toEqual(scope.steps.extract);
    expect(renderTemplate('{{ trigger.none }}', scope)).toBe(null);
    expect(renderTemplate('{{ trigger.count > 2 }}', scope)).toBe(true);
  });

  it('interpolates text', () => {
    expect(renderTemplate('Total {{ steps.extract.amount }} on {{ steps.extract.date }}', scope)).toBe(
      'Total 42.5 on 2026-11-25',
    );
    expect(renderTemplate('{{ trigger.flag }}/{{ trigger.none }}/{{ steps.extract.lines }}', scope)).toBe(
      'true//[{"sku":"A"}]',
    );
    expect(renderTemplate('{{ "}}" }} and {{ \'{{\' }}', scope)).toBe('}} and {{');
    expect(renderTemplate('no templates {here}', scope)).toBe('no templates {here}');
    expect(renderTemplate('{{a}}{{b}}', { a: 1, b: 2 })).toBe('12');
  });

  it('walks arrays and objects, leaving keys and other values alone', () => {
    const input = {
      roomId: '{{ run.workflowId }}',
      list: ['{{ trigger.count }}', 'x {{ trigger.message.author }}', 7, false, null],
      nested: { deeper: { text: '{{ upper(trigger.message.text) }}' } },
      '{{ key }}': 'kept',
    };
    expect(renderTemplate(input, scope)).toEqual({
      roomId: 'invoice',
      list: [3, 'x ana', 7, false, null],
      nested: { deeper: { text: 'HELLO' } },
      '{{ key }}': 'kept',
    });
    expect(renderTemplate(12, scope)).toBe(12);
    const parsed = JSON.parse('{"__proto__": "{{ trigger.count }}"}') as unknown;
    const rendered = renderTemplate(parsed, scope) as Record<string, unknown>;
    expect(Object.getPrototypeOf(rendered)).toBe(Object.prototype);
    expect(Object.hasOwn(rendered, '__proto__')).toBe(true);
  });

  it('reports errors from the expressions with the position in the whole string', () => {
    let caught: unknown;
    try {
      renderTemplate('Hi {{ trigger.message. }}', scope);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ExpressionError);
    expect((caught as ExpressionError).reason).toBe('syntax');
    expect((caught as ExpressionError).position).toBe(23);
    expect(() => renderTemplate('Hi {{ trigger.message.text', scope)).toThrow(/without a closing/);
    expect(() => renderTemplate('{{ trigger.missing }}', scope)).toThrow(/trigger\.missing does not exist/);
    expect(() => renderTemplate({ a: ['{{ 1 + "x" }}'] }, scope)).toThrow(ExpressionError);
    let deep: unknown = '{{ 1 }}';
    for (let index = 0; index < 1_000; index += 1) deep = [deep];
    expect(() => renderTemplate(deep, scope)).toThrow(/nested more than 64/);
  });
});

describe('templateReferences', () => {
  it('names steps by id and other roots by their first name', () => {
    expect(
      templateReferences({
        text: '{{ steps.ocr.text }} by {{ trigger.message.author }}',
        list: ['{{ steps["extract"].amount + 1 }}', '{{ env.TOKEN }}', '{{ run.id }}'],
        when: 'no refs here',
      }),
    ).toEqual(['steps.ocr', 'trigger', 'steps.extract', 'env', 'run']);
    expect(templateReferences('{{ steps[trigger.which].text }}')).toEqual(['steps', 'trigger']);
    expect(templateReferences('{{ exists(steps.maybe.x) and contains(lower(steps.a.b), "x") }}')).toEqual([
      'steps.maybe',
      'steps.a',
    ]);
    expect(templateReferences('{{ steps }}')).toEqual(['steps']);
    expect(templateReferences(['{{ steps.a.list[0].x }}', 5, null])).toEqual(['steps.a']);
    expect(templateReferences('plain')).toEqual([]);
  });

  it('throws on syntax errors', () => {
    expect(() => templateReferences({ a: '{{ 1 + }}' })).toThrow(ExpressionError);
  });

  it('has a bare-expression twin for conditions', () => {
    expect(expressionReferences('steps.check.ok and trigger.amount > 5')).toEqual(['steps.check', 'trigger']);
    expect(expressionReferences('{{ steps.check.ok }}')).toEqual(['steps.check']);
  });
});
