import { ConflictError, ValidationError } from '@kaiwa/core';
import type { StepType } from './step-type.js';

const STEP_TYPE_PATTERN = /^[a-z0-9][a-z0-9.-]{0,63}$/;

/**
 * The step types a workflow engine knows: built-ins and custom ones registered by code.
 *
 * @example
 * const registry = new StepTypeRegistry([...builtInStepTypes()]);
 * registry.register(shout);
 */
export class StepTypeRegistry {
  readonly #types = new Map<string, StepType>();

  constructor(stepTypes: Iterable<StepType> = []) {
    for (const stepType of stepTypes) this.register(stepType);
  }

  /**
   * Adds a step type.
   * @throws ValidationError when the name is not lower case letters, digits, `-` and `.`;
   *   ConflictError when another step type has the name.
   * @example registry.register(defineStepType({ type: 'shout', description, input, run }));
   */
  register(stepType: StepType): void {
    if (!STEP_TYPE_PATTERN.test(stepType.type))
      throw ValidationError.field('type', 'must be lower case letters, digits, - and . (at most 64)');
    const existing = this.#types.get(stepType.type);
    if (existing !== undefined && existing !== stepType)
      throw new ConflictError(`step type "${stepType.type}" is registered already`, 'type');
    this.#types.set(stepType.type, stepType as StepType);
  }

  /** @example registry.get('ocr')?.description */
  get(type: string): StepType | undefined {
    return this.#types.get(type);
  }

  /** Every registered step type, in name order. @example registry.list().map((step) => step.type) */
  list(): StepType[] {
    return [...this.#types.values()].sort((a, b) => a.type.localeCompare(b.type));
  }
}
