export { type WorkflowRepositoryContractOptions, workflowRepositoryContract } from './workflow-contract.js';
