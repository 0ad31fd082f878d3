export * from './expression/index.js';
export { retryDelay } from './retry-delay.js';
export { defineStepType, type StepContext, type StepType, type WorkflowServices } from './step-type.js';
export { StepTypeRegistry } from './step-type-registry.js';
export { mimeMatches, WorkflowTriggers, type WorkflowTriggersConfig } from './triggers.js';
export {
  type SignWebhookOptions,
  signWebhook,
  type VerifyWebhookOptions,
  verifyWebhookSignature,
  type WebhookVerification,
} from './webhook-signature.js';
export type { WorkflowChat, WorkflowChatEvents } from './workflow-chat.js';
export {
  assertWorkflowDefinition,
  type DefinitionIssue,
  type DefinitionValidation,
  type OnErrorPolicy,
  OnErrorSchema,
  parseWorkflowDefinition,
  type RetryPolicy,
  RetryPolicySchema,
  resolveDependencies,
  validateWorkflowDefinition,
  WORKFLOW_ID_PATTERN,
  type WorkflowDefinition,
  WorkflowDefinitionSchema,
  type WorkflowStep,
  WorkflowStepSchema,
  type WorkflowTrigger,
  WorkflowTriggerSchema,
} from './workflow-definition.js';
export {
  type DefinedWorkflow,
  errorInfo,
  MAX_WORKFLOW_JSON_BYTES,
  StepTimeoutError,
  WorkflowEngine,
  type WorkflowEngineConfig,
  type WorkflowRunDetails,
  WorkflowWaitTimeoutError,
} from './workflow-engine.js';
