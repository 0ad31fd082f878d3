export * from './expression/index.js';
export { defineStepType, type StepContext, type StepType, type WorkflowServices } from './step-type.js';
